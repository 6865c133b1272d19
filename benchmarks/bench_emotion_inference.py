"""Benchmark: emotion inference latency on CPU with the shipped model.

Measures one 48x48 face through the LiteRT export (with and without
test-time augmentation) and through Keras, plus a full 512x512 frame
(decode + face detection + classification). Prints the figures and writes
benchmarks/results/emotion_inference.json. Usage:

    .venv/bin/python -m benchmarks.bench_emotion_inference [--model-dir emotion/model] [--repeat 200]
"""

import argparse
import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from emotion.ml.inference import MODEL_DIR, EmotionClassifier, load_keras_predictor

ROOT = Path(__file__).resolve().parent.parent


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after a warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    face = np.random.default_rng(0).integers(0, 256, (1, 48, 48), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=90)
    jpeg = buffer.getvalue()

    plain = EmotionClassifier(args.model_dir, tta=False)
    tta = EmotionClassifier(args.model_dir, tta=True)
    keras_predict = load_keras_predictor(args.model_dir / "emotion.keras")
    face_input = face[..., None].astype(np.float32) / 255
    results = {
        "benchmark": "emotion_inference",
        "model_version": plain.model_version,
        "median_ms": {
            "face_litert": median_ms(lambda: plain.classify_faces(face), args.repeat),
            "face_litert_tta": median_ms(lambda: tta.classify_faces(face), args.repeat),
            "face_keras": median_ms(lambda: keras_predict(face_input), args.repeat // 4),
            "frame_512_jpeg_decode_detect_classify": median_ms(
                lambda: plain.analyze_bytes(jpeg, largest_only=True), args.repeat // 4
            ),
        },
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "benchmarks" / "results" / "emotion_inference.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
