#!/usr/bin/env bash
# Train the shipped emotion model from scratch: the VGG net in two cosine cycles (26 epochs,
# then a 48-epoch warm restart), shipped to emotion/model with its card and PublicTest report
# (see emotion/model/README.md).
#   bash scripts/train_emotion.sh [FER2013_DIR]   (default ../shared/datasets/fer2013)
# Every epoch is checkpointed: re-running the script after an interruption resumes where it
# stopped. About 3.6 hours on this 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/datasets/fer2013}
first=var/emotion-members/vgg-fer2013
train=(.venv/bin/python -m emotion.ml.train --data "$data/fer2013_train.npz" --test-data "$data/fer2013_val.npz"
       --precision bfloat16 --tta)

bash scripts/venv.sh requirements.txt

cycle() {  # cycle RUN_NAME ARGS...: start the run, or resume it if it has checkpoints
  local name=$1; shift
  local resume=()
  [[ -f ~/.cache/moodshop/emotion-train/$name/state.json ]] && resume=(--resume)
  "${train[@]}" --run-name "$name" "${resume[@]}" "$@"
}

[[ -f $first/model_card.json ]] || cycle vgg-fer2013 --arch vgg --epochs 26 --out "$first"
cycle vgg-fer2013-r2 --init-from "$first/emotion.keras" --epochs 48 --lr 0.001 --warmup-epochs 1 \
  --benchmark-json benchmarks/results/emotion_eval_publictest.json
