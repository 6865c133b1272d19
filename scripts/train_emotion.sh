#!/usr/bin/env bash
# Train the shipped emotion model from scratch: the VGG net in three cosine cycles (26 epochs,
# then warm restarts of 48 and 70 epochs, each from the previous cycle's best model), then a
# 14-epoch low-learning-rate fine-tune whose last 8 epochs' weights are averaged; finally a
# 7-epoch distillation of that model's 14-view test-time augmentation into the same network,
# trained on webcam conditions (blur, small faces, noise, JPEG, light) as well, with its last 4
# epochs averaged: shipped to emotion/model with its card and PublicTest report (see
# emotion/model/README.md).
#   bash scripts/train_emotion.sh [FER2013_DIR]   (default ../shared/datasets/fer2013)
# Every epoch is checkpointed: re-running the script after an interruption resumes where it
# stopped, and finished cycles are skipped. About 7.4 hours on a 2-core CPU with AMX (bfloat16);
# on an AVX2-only CPU training runs in float32 (--precision auto) at about 7 minutes an epoch.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/datasets/fer2013}
first=var/emotion-members/vgg-fer2013
second=var/emotion-members/vgg-fer2013-r2
third=var/emotion-members/vgg-fer2013-r3
fourth=var/emotion-members/vgg-fer2013-r4ft
train=(.venv/bin/python -m emotion.ml.train --data "$data/fer2013_train.npz" --test-data "$data/fer2013_val.npz"
       --tta)

bash scripts/venv.sh requirements.txt

cycle() {  # cycle RUN_NAME ARGS...: start the run, or resume it if it has checkpoints
  local name=$1; shift
  local resume=()
  [[ -f ~/.cache/moodshop/emotion-train/$name/state.json ]] && resume=(--resume)
  "${train[@]}" --run-name "$name" "${resume[@]}" "$@"
}

[[ -f $first/model_card.json ]] || cycle vgg-fer2013 --arch vgg --epochs 26 --out "$first"
[[ -f $second/model_card.json ]] || cycle vgg-fer2013-r2 --init-from "$first/emotion.keras" --epochs 48 \
  --lr 0.001 --warmup-epochs 1 --out "$second"
[[ -f $third/model_card.json ]] || cycle vgg-fer2013-r3 --init-from "$second/emotion.keras" --epochs 70 \
  --lr 0.001 --warmup-epochs 1 --out "$third"
[[ -f $fourth/model_card.json ]] || cycle vgg-fer2013-r4ft --init-from "$third/emotion.keras" --epochs 14 \
  --swa-epochs 8 --lr 0.0002 --warmup-epochs 1 --out "$fourth"
cycle vgg-fer2013-kd --init-from "$fourth/emotion.keras" --teacher "$fourth/emotion.keras" --epochs 7 --swa-epochs 4 \
  --lr 0.0004 --warmup-epochs 1 --degrade-prob 0.3 --erase-prob 0.25 --max-rotation 10 --max-shift 3 \
  --benchmark-json benchmarks/results/emotion_eval_publictest.json
