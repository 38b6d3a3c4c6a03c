#!/usr/bin/env bash
# Learning curves of base pre-training and of the target skills, six configurations in parallel on one
# GPU (each a process: one torch thread, two data workers). Curves land in $RESULTS_DIR/curves.jsonl, one line per
# validation, so a run cut off by the time limit still returns what it reached. Arguments: the limit (s) and
# the sweep (1: one phase, all parameters, 4,000 samples per skill; 2: an alignment phase first, 2,000 per skill).
set -u
limit=${1:-400}
sweep=${2:-1}
out=${RESULTS_DIR:-research/results}
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
python3 -c "import sys, torch, transformers, lightning; print(sys.version, torch.__version__, transformers.__version__, lightning.__version__, torch.cuda.get_device_name(0))"
tiny="--image-size 32 --patch 8 --vision-width 64 --vision-layers 2 --vision-heads 2 --text-width 128 --text-layers 4"
big="--image-size 64 --patch 8 --vision-width 128 --vision-layers 4 --vision-heads 4 --text-width 256 --text-layers 4"
widelm="--image-size 32 --patch 8 --vision-width 64 --vision-layers 2 --vision-heads 2 --text-width 256 --text-layers 6"
targets="--skills species,count,pathology,text,clock"
small64="--image-size 64 --patch 8 --vision-width 64 --vision-layers 2 --vision-heads 2 --text-width 128 --text-layers 4"
size=$([ "$sweep" = 1 ] && echo 4000 || echo 2000)
common="--accelerator gpu --workers 2 --train-size $size --epochs 12 --val-every 1 --test-size 128 --curve $out/curves.jsonl --log $out/levers.jsonl"
run() { tag=$1; shift; LMMCL_CACHE=/tmp/lmmcl-cache/$tag timeout "$limit" python3 -m research.base_levers --tag "$tag" $common "$@" >"$out/$tag.log" 2>&1 & }
if [ "$sweep" = 1 ]; then
  run A_tiny_lr2e-3 $tiny --lr 0.002
  run B_big_lr1e-3 $big --lr 0.001
  run C_widelm_lr1e-3 $widelm --lr 0.001
  run D_tiny_oneobj $tiny --lr 0.002 --max-objects 1
  run E_targets_tiny $tiny --lr 0.002 $targets
  run F_targets_big $big --lr 0.001 $targets
else
  run G1_tiny_align2 $tiny --lr 0.001 --align-epochs 2
  run G2_tiny_align2_lr5e-4 $tiny --lr 0.0005 --align-epochs 2 --align-lr 0.002
  run G3_tiny_align4 $tiny --lr 0.001 --align-epochs 4
  run G4_big_align2 $big --lr 0.001 --align-epochs 2
  run G5_targets_tiny_align2 $tiny --lr 0.001 --align-epochs 2 $targets
  run G6_tiny64_align2 $small64 --lr 0.001 --align-epochs 2
fi
sleep 60; nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv; uptime
wait
for f in "$out"/*.log; do echo "== $f"; grep -v "it/s\|━" "$f" | tail -4; done
