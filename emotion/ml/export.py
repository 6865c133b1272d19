"""Fast CPU export (TFLite / LiteRT) with a Keras-vs-export agreement check.

The Keras runtime costs tens of milliseconds per call; the LiteRT interpreter
classifies a face in about a millisecond, which is what the web app needs.
"""

from pathlib import Path
from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from emotion.ml.inference import tflite_predictor


def export_tflite(model: keras.Model, path: Path, sample: NDArray[np.float32]) -> dict[str, Any]:
    """Export ``model`` to ``path`` and compare both runtimes on ``sample``."""
    model.export(str(path), format="litert", verbose=False)
    reference = model.predict(sample, batch_size=512, verbose=0)
    exported = tflite_predictor(path)(sample)
    return {
        "n": len(sample),
        "top1_agreement": float(np.mean(reference.argmax(1) == exported.argmax(1))),
        "max_abs_prob_diff": float(np.abs(reference - exported).max()),
        "size_bytes": path.stat().st_size,
    }
