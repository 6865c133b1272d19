"""Face detection with OpenCV's bundled Haar cascade.

The frontal-face Haar cascade ships inside opencv-python (``cv2.data``), so
it needs no download, runs in a few milliseconds on CPU and is a sound
baseline for webcam-style frames with one roughly frontal face.
"""

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from emotion.ml.preprocess import Box, pad_box

CASCADE_FILE = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
# Detection runs on a copy no larger than this (longest side, pixels): the
# cascade's cost grows with area, while a shopper's face in front of a webcam
# stays large enough to detect at this size.
DETECT_MAX_SIDE = 320
# Pyramid step and votes: coarser than OpenCV's defaults (1.1, 3), which
# halves the work per frame and still finds frontal faces reliably.
SCALE_FACTOR = 1.2
MIN_NEIGHBORS = 4


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(str(CASCADE_FILE))
    if cascade.empty():
        raise RuntimeError(f"Cannot load Haar cascade from {CASCADE_FILE}")
    return cascade


def detect_faces(gray: NDArray[np.uint8], min_face_fraction: float = 0.12) -> list[Box]:
    """Face boxes (x, y, w, h) in ``gray``'s coordinates, largest first.

    ``min_face_fraction`` sets the smallest face side relative to the shorter
    image side, which suppresses tiny false positives in the background.
    """
    height, width = gray.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    min_side = max(20, round(min(small.shape[:2]) * min_face_fraction))
    found = _cascade().detectMultiScale(
        cv2.equalizeHist(small), scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(min_side, min_side)
    )
    boxes = [tuple(round(v / scale) for v in box) for box in np.asarray(found).reshape(-1, 4)]
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def largest_face(gray: NDArray[np.uint8]) -> Box | None:
    """The largest detected face, padded like the FER2013 crops, or None."""
    boxes = detect_faces(gray)
    return pad_box(boxes[0], gray.shape) if boxes else None
