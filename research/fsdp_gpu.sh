#!/usr/bin/env bash
# The paper's FSDP path on the first GPU machine (two GPUs where there are): configs/experiment/paper.yaml +
# configs/trainer/fsdp.yaml (+ bf16.yaml) on a tiny real-family model at real prompt lengths (the real processor's
# image settings, page-sized DocVQA/InfoVQA/ChartQA/TextVQA pictures: prompts of 2,000-7,400 tokens), one stage,
# the evaluations, the stage checkpoint, a resume from it; each rank's peak GPU memory printed beside
# `lmmcl recipes`' prediction for the same model and config. The same run passes on CPU with ACCELERATOR=cpu
# (tests/rehearsal/test_run.py, `make test-slow`), which is how this script was checked before any GPU ran it.
#   bash research/fsdp_gpu.sh                       # FAMILY=llava GPUS=2 LOGDIR=logs/fsdp_gpu
#   FAMILY=qwen2_5_vl GPUS=8 bash research/fsdp_gpu.sh
set -euo pipefail
FAMILY=${FAMILY:-llava}; GPUS=${GPUS:-2}; LOGDIR=${LOGDIR:-logs/fsdp_gpu}; ACCELERATOR=${ACCELERATOR:-gpu}
LMMCL=${LMMCL:-.venv/bin/lmmcl}
STAGE=(--data.skills "[cub200]" --trainer.callbacks+=lmmcl.train.perf.PeakMemory)

echo "== one stage, evaluations, checkpoint: FSDP on $GPUS device(s), $FAMILY at real prompt lengths"
$LMMCL rehearse --family "$FAMILY" --lengths real --strategy fsdp --accelerator "$ACCELERATOR" --devices "$GPUS" \
    --rows 8 --out "$LOGDIR" "${STAGE[@]}" | tee "$LOGDIR.log"
cp "$LOGDIR/fit.log" "$LOGDIR/fit.first.log"
RUN=$(grep -o '\S*/report\.md' "$LOGDIR.log" | tail -1 | xargs dirname)

echo "== resume from the stage checkpoint ($RUN/checkpoints/last.ckpt): loads the full FSDP state on every rank"
$LMMCL rehearse --family "$FAMILY" --lengths real --strategy fsdp --accelerator "$ACCELERATOR" --devices "$GPUS" \
    --rows 8 --out "$LOGDIR" "${STAGE[@]}" --ckpt_path "$RUN/checkpoints/last.ckpt" | tee "$LOGDIR.resume.log"

echo "== prediction (weights, gradients, Adam state; no activations) for the same model and config, per GPU"
MODEL_DIR=$(grep -o -- '--model.model_path \S*' "$LOGDIR.log" | head -1 | cut -d' ' -f2)
$LMMCL recipes "$FAMILY" --model-path "$MODEL_DIR" --config configs/experiment/paper.yaml \
    --config configs/trainer/fsdp.yaml --config configs/trainer/bf16.yaml --gpus "$GPUS"
echo "== measured (activations included):"
grep -h "peak GPU memory" "$LOGDIR/fit.first.log" "$LOGDIR/fit.log" || echo "(none: not on a GPU)"
