"""Benchmark: the face detectors on images with and without faces, and their speed.

Images (all shipped by scikit-image, so nothing of FER2013 is used):
- faces: the 100 faces of ``lfw_subset`` (25x25 crops, upscaled to 100x100 and set into
  a 320x240 frame of their own border colours, like a face in a webcam frame) and the
  ``astronaut`` photo;
- no faces: the 100 non-face patches of ``lfw_subset`` (same treatment) and the photos
  of scikit-image's gallery that show no person (coffee, a cat, a rocket, ...).

For each detector: recall on faces, false-positive rate on non-faces (any box counts),
the median IoU of its box with the other detector's on faces both found, and the ms
per 320x240 and 640x480 frame on one thread. Writes
benchmarks/results/face_detector.json.

    .venv/bin/python benchmarks/bench_detector.py
"""

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import write_result
from emotion.ml.detect import DETECTORS, get_detector

PHOTOS_WITHOUT_FACES = ("coffee", "chelsea", "rocket", "coins", "horse", "hubble_deep_field", "moon", "page", "text")


def in_frame(patch: np.ndarray) -> np.ndarray:
    """A 25x25 LFW patch upscaled to 100x100 and centred in a 320x240 RGB frame."""
    big = cv2.resize(patch, (100, 100), interpolation=cv2.INTER_CUBIC)
    framed = cv2.copyMakeBorder(big, 70, 70, 110, 110, cv2.BORDER_REPLICATE)
    return cv2.cvtColor(framed, cv2.COLOR_GRAY2RGB)


def image_sets() -> tuple[list[np.ndarray], list[np.ndarray]]:
    lfw = data.lfw_subset()  # 100 faces, then 100 non-faces; floats in [0, 1]
    patches = (lfw * 255).round().astype(np.uint8)
    faces = [in_frame(p) for p in patches[:100]] + [data.astronaut()]
    photos = []
    for name in PHOTOS_WITHOUT_FACES:
        image = getattr(data, name)()
        if image.dtype == bool:  # the horse silhouette
            image = image.astype(np.uint8) * 255
        photos.append(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image[..., :3])
    return faces, [in_frame(p) for p in patches[100:]] + photos


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0, min(ax1, bx1) - max(a[0], b[0])) * max(0, min(ay1, by1) - max(a[1], b[1]))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def ms_per_frame(detector, frame: np.ndarray, repeat: int = 200) -> float:
    for _ in range(5):
        detector(frame, bgr=False)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        detector(frame, bgr=False)
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 3)


def main() -> None:
    cv2.setNumThreads(1)
    faces, non_faces = image_sets()
    astronaut = data.astronaut()
    frames = {
        "320x240": cv2.resize(astronaut[:384], (320, 240), interpolation=cv2.INTER_AREA),
        "640x480": cv2.resize(astronaut[:384], (640, 480), interpolation=cv2.INTER_AREA),
    }
    found = {name: [get_detector(name)(f, bgr=False) for f in faces] for name in DETECTORS}
    results = {}
    for name in DETECTORS:
        detector = get_detector(name)
        other = next(n for n in DETECTORS if n != name)
        overlaps = [iou(a[0], b[0]) for a, b in zip(found[name], found[other], strict=True) if a and b]
        false_positives = sum(bool(detector(f, bgr=False)) for f in non_faces)
        results[name] = {
            "recall_on_faces": round(sum(bool(b) for b in found[name]) / len(faces), 3),
            "false_positive_rate": round(false_positives / len(non_faces), 3),
            "median_iou_with_other_detector": round(statistics.median(overlaps), 3) if overlaps else None,
            "ms_per_frame_one_thread": {size: ms_per_frame(detector, frame) for size, frame in frames.items()},
        }
        print(name, results[name])
    write_result(
        "face_detector",
        {
            "benchmark": "face detectors on scikit-image's lfw_subset and gallery photos",
            "faces": len(faces),
            "non_faces": len(non_faces),
            "detectors": results,
        },
    )


if __name__ == "__main__":
    main()
