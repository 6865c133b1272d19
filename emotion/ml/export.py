"""Fast CPU export (TFLite / LiteRT) with a Keras-vs-export agreement check.

Two quantisations: dynamic range (int8 weights, float activations), measured
about four times faster than the float export at a quarter of the size, and
full integer (int8 activations too, calibrated on training faces). Training
exports both, measures each on the validation split and serves the better
trade-off (``emotion.ml.train.choose_export``); each records its agreement with
the Keras model in the card.
"""

from pathlib import Path
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from emotion.ml.inference import keras_predictor, tflite_predictor
from emotion.ml.preprocess import FACE_SIZE, to_network_input


def reference_faces() -> NDArray[np.uint8]:
    """Fixed generated faces whose outputs the card records, to check a shipped model loads intact."""
    ramp = np.linspace(0, 255, FACE_SIZE * FACE_SIZE).reshape(1, FACE_SIZE, FACE_SIZE)
    noise = np.random.default_rng(48).integers(0, 256, (3, FACE_SIZE, FACE_SIZE))
    return np.concatenate([ramp, ramp.transpose(0, 2, 1), noise]).astype(np.uint8)


QUANTIZATIONS: dict[str, str] = {
    "dynamic": "dynamic range (int8 weights, float activations)",
    "int8": "full integer (int8 weights and activations; float input and output), calibrated on training faces",
}


def export_tflite(
    model: keras.Model,
    path: Path,
    sample: NDArray[np.float32],
    quantization: str = "dynamic",
    representative: NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """Export ``model`` to ``path`` and compare both runtimes on ``sample``.

    ``int8`` needs ``representative`` inputs (training faces) to fix each activation's
    scale; its input and output stay float32, so every predictor takes it unchanged.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":
        if representative is None:
            raise ValueError("int8 quantisation needs representative inputs")
        converter.representative_dataset = lambda: ([face[None]] for face in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif quantization != "dynamic":
        raise ValueError(f"unknown quantisation {quantization!r}; expected one of {sorted(QUANTIZATIONS)}")
    path.write_bytes(converter.convert())
    reference = keras_predictor(model)(sample)
    predict = tflite_predictor(path)
    exported = predict(sample)
    fixed = to_network_input(reference_faces())
    return {
        "reference": {
            "input": "emotion.ml.export.reference_faces()",
            "keras": keras_predictor(model)(fixed).round(6).tolist(),
            "tflite": predict(fixed).round(6).tolist(),
        },
        "n": len(sample),
        "top1_agreement": float(np.mean(reference.argmax(1) == exported.argmax(1))),
        "max_abs_prob_diff": float(np.abs(reference - exported).max()),
        "size_bytes": path.stat().st_size,
        "quantization": QUANTIZATIONS[quantization],
    }
