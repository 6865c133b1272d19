"""Checks every model gets on the validation split before it ships, recorded in its card.

- which LiteRT export to serve (dynamic range or full integer), by accuracy and speed;
- its per-face quality threshold, on degraded copies of the validation faces.

All on the validation split carved from the training data; never on the test set.
"""

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from emotion.ml import conditions, quality
from emotion.ml.export import export_tflite
from emotion.ml.inference import tflite_predictor
from emotion.ml.preprocess import to_network_input

# Served int8 only if it loses at most this much validation accuracy for its speed.
INT8_MAX_ACCURACY_LOSS = 0.003
INT8_MIN_SPEEDUP = 1.1
QUALITY_FACES = 1000  # validation faces per degraded condition when choosing the quality threshold


def batch1_ms(path: Path, faces: NDArray[np.float32], repeat: int = 200) -> float:
    """Median ms per face at batch 1 on one thread (the worker's setting)."""
    predict = tflite_predictor(path, num_threads=1)
    for face in faces[:10]:
        predict(face[None])
    samples = []
    for face in faces[:repeat]:
        start = time.perf_counter()
        predict(face[None])
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 3)


def choose_export(
    model: keras.Model,
    served: Path,
    x_val: NDArray[np.float32],
    y_val: NDArray[np.int64],
    representative: NDArray[np.float32],
    threads: int,
) -> dict[str, Any]:
    """Export both quantisations beside ``served``, measure them and put the chosen one at ``served``."""
    paths = {"dynamic": served.with_name("emotion_dynamic.tflite"), "int8": served.with_name("emotion_int8.tflite")}
    variants: dict[str, Any] = {}
    for name, path in paths.items():
        agreement = export_tflite(model, path, x_val, name, representative if name == "int8" else None)
        probs = tflite_predictor(path, num_threads=threads)(x_val)
        variants[name] = {
            "val_accuracy": float(np.mean(probs.argmax(1) == y_val)),
            "ms_per_face_batch1_one_thread": batch1_ms(path, x_val),
            "size_bytes": path.stat().st_size,
            "agreement": agreement,
        }
    dynamic, int8 = variants["dynamic"], variants["int8"]
    use_int8 = (
        int8["val_accuracy"] >= dynamic["val_accuracy"] - INT8_MAX_ACCURACY_LOSS
        and dynamic["ms_per_face_batch1_one_thread"] >= INT8_MIN_SPEEDUP * int8["ms_per_face_batch1_one_thread"]
    )
    chosen = "int8" if use_int8 else "dynamic"
    shutil.copyfile(paths[chosen], served)
    paths["dynamic" if use_int8 else "int8"].unlink()  # one export ships; the card keeps both figures
    paths[chosen].unlink()
    return {
        "served": chosen,
        "rule": f"int8 if it loses <= {INT8_MAX_ACCURACY_LOSS} validation accuracy "
        f"and is >= {INT8_MIN_SPEEDUP}x faster",
        "variants": variants,
    }


def quality_threshold(predict: Any, faces: NDArray[np.uint8], labels: NDArray[np.int64]) -> dict[str, Any]:
    """The quality threshold for this model, on degraded copies of (a seeded subset of) the validation faces."""
    pick = np.sort(np.random.default_rng(0).permutation(len(faces))[:QUALITY_FACES])
    faces, labels = faces[pick], labels[pick]
    scores, correct = {}, {}
    for name in conditions.CONDITIONS:
        degraded = conditions.apply(name, faces, seed=1)
        correct[name] = predict(to_network_input(degraded)).argmax(1) == labels
        scores[name] = quality.quality_scores(degraded, conditions.face_px(name))
    threshold = quality.choose_threshold(scores, correct)
    return {
        "threshold": threshold,
        "rule": "maximises (right - wrong) among kept frames over degraded validation copies, "
        "keeping >= 95% of clean faces",
        "validation": {
            name: {
                "kept_share": float(np.mean(scores[name] >= threshold)),
                "accuracy_all": float(correct[name].mean()),
                "accuracy_kept": float(correct[name][scores[name] >= threshold].mean())
                if np.any(scores[name] >= threshold)
                else None,
            }
            for name in scores
        },
        "n_per_condition": len(labels),
    }
