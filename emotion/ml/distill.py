"""Knowledge distillation: a student learns the test-time-augmented teacher's probabilities.

The worker serves one network pass per face; the shipped net is 2 points more
accurate when its 14 augmented views are averaged. Distillation moves that
gain into a single pass: the teacher's averaged probabilities on the training
faces (computed once and cached beside the run's checkpoints; never on the
validation split or the test set) become soft targets, mixed with the
label-smoothed hard labels (Hinton et al. 2015).

Targets travel through Keras as one (N, 14) tensor: the one-hot label, then the
teacher's probabilities, so the data pipeline and sample weights stay as in
plain training.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops
from numpy.typing import NDArray

from emotion.ml.labels import NUM_CLASSES
from emotion.ml.tta import Predictor, predict_proba

SOFT_LABELS_FILE = "teacher_probs.npz"
_EPS = 1e-7


def file_sha256(path: str | Path) -> str:
    """Content hash of a model file: the cache is only valid for the very same teacher."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def teacher_probabilities(
    predict: Predictor, x: NDArray[np.float32], *, tta: bool = True, chunk: int = 512
) -> NDArray[np.float32]:
    """The teacher's (optionally view-averaged) probabilities for network inputs ``x``, chunked."""
    parts = []
    for start in range(0, len(x), chunk):
        parts.append(predict_proba(predict, x[start : start + chunk], tta))
        print(f"teacher soft labels: {min(start + chunk, len(x))}/{len(x)}", flush=True)
    return np.concatenate(parts).astype(np.float32)


def teacher_predictor(teacher_path: Path) -> Predictor:
    """The teacher as it is served: its LiteRT export beside the .keras file when there is one.

    On a 2-core CPU LiteRT ran 3-8x faster than Keras, which decides whether the
    soft labels (14 views of every training face) take minutes or an hour.
    """
    from emotion.ml.inference import keras_predictor, tflite_predictor

    tflite = teacher_path.with_suffix(".tflite")
    if tflite.is_file():
        return tflite_predictor(tflite, num_threads=os.cpu_count() or 1)
    return keras_predictor(keras.models.load_model(teacher_path, compile=False))


def cached_soft_labels(
    run_dir: Path, teacher_path: Path, x: NDArray[np.float32], train_idx: NDArray[np.int64], tta: bool
) -> NDArray[np.float32]:
    """Soft labels for the training faces, computed once per (teacher file, faces) and cached."""
    tflite = teacher_path.with_suffix(".tflite")
    key = {
        "teacher_sha256": file_sha256(tflite if tflite.is_file() else teacher_path),
        "train_idx_sha256": hashlib.sha256(np.ascontiguousarray(train_idx).tobytes()).hexdigest(),
        "tta": tta,
    }
    path = run_dir / SOFT_LABELS_FILE
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            if json.loads(str(cached["key"])) == key:
                return cached["probs"]
    probs = teacher_probabilities(teacher_predictor(teacher_path), x, tta=tta)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, probs=probs, key=json.dumps(key))
    tmp.replace(path)
    return probs


def soften(probs: NDArray[np.float32], temperature: float) -> NDArray[np.float32]:
    """Probabilities at ``temperature``: softmax(log p / T), computed in float64."""
    logits = np.log(np.clip(probs.astype(np.float64), _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


@keras.saving.register_keras_serializable(package="moodshop")
class DistillationLoss(keras.losses.Loss):
    """``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(smoothed label, student)``.

    ``y_true`` is the one-hot label followed by the teacher's probabilities; the student's
    outputs are probabilities, so its logits are taken as their logarithm (exact up to a
    constant, which softmax ignores).
    """

    def __init__(self, temperature: float = 2.0, alpha: float = 0.7, label_smoothing: float = 0.1, **kwargs: Any):
        super().__init__(**kwargs)
        self.temperature, self.alpha, self.label_smoothing = temperature, alpha, label_smoothing

    def call(self, y_true: Any, y_pred: Any) -> Any:
        hard, teacher = y_true[:, :NUM_CLASSES], y_true[:, NUM_CLASSES:]
        log_student = ops.log(ops.clip(ops.cast(y_pred, "float32"), _EPS, 1.0))
        hard = hard * (1 - self.label_smoothing) + self.label_smoothing / NUM_CLASSES
        cross_entropy = -ops.sum(hard * log_student, axis=-1)
        t = self.temperature
        teacher_t = ops.softmax(ops.log(ops.clip(teacher, _EPS, 1.0)) / t, axis=-1)
        student_t = ops.log_softmax(log_student / t, axis=-1)
        kl = ops.sum(teacher_t * (ops.log(ops.clip(teacher_t, _EPS, 1.0)) - student_t), axis=-1)
        return self.alpha * t * t * kl + (1 - self.alpha) * cross_entropy

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "alpha": self.alpha,
            "label_smoothing": self.label_smoothing,
        }


def hard_label_accuracy(y_true: Any, y_pred: Any) -> Any:
    """Training accuracy against the one-hot part of the distillation targets."""
    return ops.cast(ops.argmax(y_true[:, :NUM_CLASSES], axis=-1) == ops.argmax(y_pred, axis=-1), "float32")
