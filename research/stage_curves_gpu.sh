#!/usr/bin/env bash
# Learning curves of the five target skills trained alone from the shipped base, one process per
# (skill, recipe, LR): how many steps does a stage need, at which LR? Runs on a GPU machine's 16 CPU cores
# (one torch thread each) plus two long runs on its GPU. Curves land in $RESULTS_DIR/stage_curves.jsonl, one line per
# evaluation, so a run cut off by the limit still returns what it reached; per-run logs stay in /tmp/curves.
# Arguments: the limit per process (s) and the sweep (1: full and mlp_gate_up at 1e-3, full at 3e-4;
# 2: mlp_gate_up and sa_proj at 3e-4, sa_proj at 1e-3). Tables: docs/history/2026-11-27-stage-length-and-vision-tasks.md.
set -u
limit=${1:-420}
sweep=${2:-1}
out=${RESULTS_DIR:-research/results}
mkdir -p /tmp/curves "$out"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
base=$(ls -d lmmcl/models/shipped/llava-base-*)
log=$out/stage_curves.jsonl
run() { tag=$1; shift; timeout "$limit" python3 -m research.skill_probe --model "$base" --clip 1 --threads 1 \
        --train-size 8000 --test-size 128 --log "$log" --tag "$tag" "$@" >"/tmp/curves/$tag.log" 2>&1 & }
if [ "$sweep" = 1 ]; then
  for s in species count pathology text clock; do
    run "full_1e-3_$s" --skill $s --recipe full --lr 1e-3 --steps 3000 --every 250
    run "mgu_1e-3_$s" --skill $s --recipe mlp_gate_up --lr 1e-3 --steps 3000 --every 250
  done
  for s in species text clock; do run "full_3e-4_$s" --skill $s --recipe full --lr 3e-4 --steps 3000 --every 250; done
  run "sa_1e-3_count" --skill count --recipe sa_proj --lr 1e-3 --steps 3000 --every 250
  run "gpu_full_1e-3_text" --skill text --recipe full --lr 1e-3 --steps 20000 --every 1000 --device cuda
  run "gpu_full_1e-3_clock" --skill clock --recipe full --lr 1e-3 --steps 20000 --every 1000 --device cuda
else
  for s in species count pathology text clock; do
    run "mgu_3e-4_$s" --skill $s --recipe mlp_gate_up --lr 3e-4 --steps 3000 --every 250
    run "sa_3e-4_$s" --skill $s --recipe sa_proj --lr 3e-4 --steps 3000 --every 250
  done
  for s in species pathology text clock; do run "sa_1e-3_$s" --skill $s --recipe sa_proj --lr 1e-3 --steps 3000 --every 250; done
  for s in count pathology; do run "full_3e-4_$s" --skill $s --recipe full --lr 3e-4 --steps 3000 --every 250; done
  run "gpu_full_3e-4_text" --skill text --recipe full --lr 3e-4 --steps 20000 --every 1000 --device cuda
  run "gpu_mgu_1e-3_text" --skill text --recipe mlp_gate_up --lr 1e-3 --steps 20000 --every 1000 --device cuda
fi
sleep 60; uptime
wait
for f in /tmp/curves/*.log; do echo "== $f"; grep "^step" "$f" | tail -1; done
