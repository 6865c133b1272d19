"""Per-epoch training checkpoints that make ``--resume`` exact.

A checkpoint directory holds the last weights (Keras stores the compiled
model's optimizer state, moments and step counter, in the same file), the
best weights so far and a ``state.json`` with the epoch counter, best score
and metric history. Files are written to a temporary name and renamed, so
killing the run mid-save never leaves a corrupt checkpoint.
"""

import json
import os
from pathlib import Path
from typing import Any

import keras

LAST_WEIGHTS = "last.weights.h5"
BEST_WEIGHTS = "best.weights.h5"
STATE = "state.json"


def default_checkpoint_dir(run_name: str) -> Path:
    """``~/.cache/moodshop/emotion-train/<run_name>``: outside the repo."""
    return Path.home() / ".cache" / "moodshop" / "emotion-train" / run_name


def _atomic_weights(model: keras.Model, path: Path) -> None:
    tmp = path.with_name("tmp-" + path.name)
    model.save_weights(tmp)
    os.replace(tmp, path)


def save(directory: Path, model: keras.Model, state: dict[str, Any], *, is_best: bool) -> None:
    """Write weights + optimizer state, the best weights and ``state`` after an epoch."""
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_weights(model, directory / LAST_WEIGHTS)
    if is_best:
        _atomic_weights(model, directory / BEST_WEIGHTS)
    tmp = directory / ("tmp-" + STATE)
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, directory / STATE)


def load_state(directory: Path) -> dict[str, Any] | None:
    """The saved ``state.json``, or None when the directory has no checkpoint."""
    path = directory / STATE
    return json.loads(path.read_text()) if path.exists() else None


def restore(directory: Path, model: keras.Model) -> None:
    """Load the last weights and optimizer state into a compiled ``model``."""
    # The optimizer creates its variables lazily; they must exist before
    # loading or Keras silently skips the optimizer state.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(directory / LAST_WEIGHTS)
