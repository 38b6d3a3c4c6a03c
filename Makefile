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

LMMCL_FIT = $(VENV)/bin/lmmcl fit --config configs/experiment/default.yaml --model.preset $(MODEL) \
	--recipe.name $(RECIPE) $(if $(MODEL_PATH),--model.model_path $(MODEL_PATH))

.PHONY: install train smoke recipes test test-slow tensorboard clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv and install lmmcl with its dev extras (once)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)  ## run the embedded default end to end (MODEL, RECIPE, ARGS, MODEL_PATH)
	$(LMMCL_FIT) $(ARGS)

smoke: $(STAMP)  ## the whole pipeline on a minimal config, in seconds
	$(LMMCL_FIT) --config configs/experiment/smoke.yaml $(ARGS)

recipes: $(STAMP)  ## trainable parameters and optimizer memory of every recipe on MODEL, offline
	$(VENV)/bin/lmmcl recipes $(MODEL) $(if $(MODEL_PATH),--model-path $(MODEL_PATH))

test: $(STAMP)  ## fast test suite
	$(VENV)/bin/pytest -q

test-slow: $(STAMP)  ## the slow tests only
	$(VENV)/bin/pytest -q -m slow

tensorboard: $(STAMP)  ## serve logs/ on localhost:$(PORT)
	$(VENV)/bin/tensorboard --logdir logs --host 127.0.0.1 --port $(PORT)

clean:  ## remove logs and caches (keeps .venv and built models)
	find logs -mindepth 1 ! -name .gitkeep -exec rm -rf {} + 2>/dev/null || true
	rm -rf .pytest_cache build *.egg-info
