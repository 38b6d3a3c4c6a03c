# lmmcl - every target creates the virtualenv on first use (torch pinned to the CPU wheel first).
PY_BOOT ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
TORCH   := torch==2.13.0

MODEL   ?= tiny
RECIPE  ?= mlp_gate_up
ARGS    ?=
# MODEL_PATH: a local save_pretrained directory holding MODEL's weights (real models: llava, llava_next,
# qwen2_5_vl); without it they come from the Hugging Face cache ($HF_HOME/hub), never downloaded here.
MODEL_PATH ?=
PORT    ?= 6006
SMOKE_MODEL ?= tiny_scratch
# RECIPES: make compare's entries (default: full llm sa_proj mlp_gate_up mlp; baselines only when named, e.g. mlp+lwf)
RECIPES ?=
# SEEDS: make compare trains every recipe at every budget once per seed (e.g. SEEDS="0 1 2"): means ± std, claims.md
SEEDS   ?=
# LR_SCALES / STEP_SCALES: make compare's stage budgets around the configured one (default LR x 0.25, 1, 4; steps x 1)
LR_SCALES ?=
STEP_SCALES ?=
# JOBS: runs at once, each a single-thread process (lmmcl compare / calibrate --jobs); default: theirs, one per CPU
JOBS    ?=
# RESUME: make compare / calibrate RESUME=1 goes on where a stopped one stopped: the runs it finished with the same
# arguments are taken from their records (<out>/jobs/done/), not trained again
RESUME  ?=
# DRY_RUN: make compare / calibrate DRY_RUN=1 prints the runs (and, compare, an estimate of their time), trains nothing
DRY_RUN ?=
# LRS, STEPS: make calibrate's grid (LR x optimizer steps per stage), e.g. LRS="1e-5 3e-5 1e-4" STEPS="300 600";
# CONTROL: the recipe it calibrates (default llm, the paper's full-LLM control), on selection seed 100
LRS     ?=
STEPS   ?=
CONTROL ?=

# BASELINE: continual-learning baselines on top of RECIPE, joined by + (lwf, wise_ft, moe, lora: configs/baseline/);
# appended to the config's callbacks; the run logs to logs/<MODEL>/<RECIPE>+<BASELINE>/. RECIPE=lora is LoRA alone.
BASELINE ?=
BASELINE_ARGS = $(foreach b,$(subst +, ,$(BASELINE)),--trainer.callbacks+=configs/baseline/$(b).yaml)

LMMCL_FIT = $(VENV)/bin/lmmcl fit --config configs/experiment/default.yaml --model.preset $(MODEL) \
	--recipe.name $(RECIPE) $(if $(MODEL_PATH),--model.model_path $(MODEL_PATH)) $(BASELINE_ARGS)

.PHONY: install train smoke base compare calibrate recipes rehearse test test-slow lint check bench tensorboard clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv and install lmmcl with its dev extras (once)

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'  # exact versions: the shipped base's numbers
	touch $(STAMP)

train: $(STAMP)  ## run the embedded default end to end (MODEL, RECIPE, BASELINE, ARGS, MODEL_PATH)
	$(LMMCL_FIT) $(ARGS)

smoke: $(STAMP)  ## the whole pipeline on a minimal config with random weights (tiny_scratch), in seconds
	$(VENV)/bin/lmmcl fit --config configs/experiment/default.yaml --config configs/experiment/smoke.yaml \
		--model.preset $(SMOKE_MODEL) --recipe.name $(RECIPE) $(ARGS)

base: $(STAMP)  ## rebuild the tiny model's base from scratch and ship it (time: docs/results/results.md)
	$(VENV)/bin/lmmcl base $(MODEL) --rebuild --ship

compare: $(STAMP)  ## the paper's recipes at 3 stage budgets: frontiers, claims.md; logs/compare/<model>/
	$(VENV)/bin/lmmcl compare --train --model $(MODEL) $(if $(RECIPES),--recipes $(RECIPES)) $(if $(SEEDS),--seeds $(SEEDS)) \
		$(if $(LR_SCALES),--lr-scales $(LR_SCALES)) $(if $(STEP_SCALES),--step-scales $(STEP_SCALES)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(RESUME),--resume) $(if $(DRY_RUN),--dry-run) -- $(ARGS)

calibrate: $(STAMP)  ## the stage budget (LR, steps) set on llm, on seed 100: LRS="..." STEPS="..."; logs/calibrate/
	@test -n "$(LRS)" -a -n "$(STEPS)" || { echo 'make calibrate needs LRS and STEPS, e.g. make calibrate LRS="1e-5 3e-5 1e-4" STEPS="300 600"'; exit 2; }
	$(VENV)/bin/lmmcl calibrate --model $(MODEL) --lrs $(LRS) --steps $(STEPS) $(if $(CONTROL),--recipe $(CONTROL)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(RESUME),--resume) $(if $(DRY_RUN),--dry-run) -- $(ARGS)

recipes: $(STAMP)  ## trainable parameters and optimizer memory of every recipe on MODEL, offline
	$(VENV)/bin/lmmcl recipes $(MODEL) $(if $(MODEL_PATH),--model-path $(MODEL_PATH))

# FAMILY: llava (LLaVA-OneVision), llava_next or qwen2_5_vl; ORDER: order_alt or order_clock_first (default: paper.yaml's)
# LENGTHS: tiny (32-pixel tiles, default) or real (the real processors' image settings, page-sized pictures: prompts of
# thousands of tokens, minutes)
FAMILY  ?= llava
ORDER   ?=
LENGTHS ?= tiny
rehearse: $(STAMP)  ## paper.yaml end to end on CPU: 2 DDP processes, tiny real-family model, local benchmark copies
	OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false $(VENV)/bin/lmmcl rehearse --family $(FAMILY) --lengths $(LENGTHS) \
		$(if $(ORDER),--order $(ORDER)) $(ARGS)

test: $(STAMP)  ## fast test suite
	$(VENV)/bin/pytest -q

test-slow: $(STAMP)  ## the slow tests only
	$(VENV)/bin/pytest -q -m slow

lint: $(STAMP)  ## ruff over the repository (rules in pyproject.toml)
	$(VENV)/bin/ruff check .

# `duplicates` exists on the developers' machines only (it always exits 0): fail on any pair in lmmcl/ or tests/.
check:  ## no block of 6+ repeated lines in lmmcl/ and tests/ (run before merging)
	@command -v duplicates >/dev/null || { echo "make check needs the duplicates command"; exit 2; }
	@duplicates --repo . --most 200 --seconds 120 | tee /dev/stderr | grep -E '^D[0-9]+ (lmmcl|tests)/.* ~ (lmmcl|tests)/' \
		&& { echo "repeated blocks in lmmcl/ or tests/ (above)"; exit 1; } || echo "make check: no repeated block in lmmcl/ or tests/"

# One torch thread, set explicitly: ratios within a run on a shared machine, not absolute speed.
BENCH   := OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false $(PY) -m
bench: $(STAMP)  ## speed and memory benchmarks (tiny_scratch, a few minutes); JSON in benchmarks/results/
	$(BENCH) benchmarks.loop_overhead --repeats 5
	$(BENCH) benchmarks.eval_batching
	$(BENCH) benchmarks.eval_breakdown
	$(BENCH) benchmarks.throughput
	$(BENCH) benchmarks.data_wait
	$(BENCH) benchmarks.memory
	$(BENCH) benchmarks.drift_overhead
	$(BENCH) benchmarks.compare_parallel
	$(BENCH) benchmarks.real_scale --preset tiny_scratch --steps 2 --out benchmarks/results/real_scale_tiny_cpu.json

tensorboard: $(STAMP)  ## serve logs/ on localhost:$(PORT)
	$(VENV)/bin/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT)

clean:  ## remove logs and caches (keeps .venv and built models)
	find logs -mindepth 1 ! -name .gitkeep -exec rm -rf {} + 2>/dev/null || true
	rm -rf .pytest_cache build *.egg-info
