"""Face detection: MediaPipe's BlazeFace (default) or OpenCV's Haar cascade (baseline).

BlazeFace's short-range model is built for exactly our frames, one shopper within
about two metres of a front camera. It runs on a 128x128 copy through the same LiteRT
interpreter as the emotion model, in about a millisecond, where the Haar cascade needs
10-20 ms per frame; it also copes better with turned heads and uneven light (see
``benchmarks/results/face_detector.json``). Its model file ships in the repository
(``emotion/ml/blazeface/``, Apache-2.0), so nothing is downloaded at run time.

The Haar cascade ships inside opencv-python (``cv2.data``) and stays available as the
baseline (``EMOTION_FACE_DETECTOR=haar``).
"""

import threading
from functools import lru_cache
from pathlib import Path
from typing import Final, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from emotion.ml.preprocess import Box, pad_box, to_gray

DETECTORS: Final[tuple[str, ...]] = ("blazeface", "haar")
DEFAULT_DETECTOR: Final[str] = "blazeface"

# Frames are decoded no larger than this (longest side, pixels): both detectors work on
# a smaller copy anyway, and a shopper's face in front of a webcam stays large enough.
DETECT_MAX_SIDE: Final[int] = 320


class Detector(Protocol):
    """Finds faces in an image; boxes (x, y, w, h) in its pixels, largest first."""

    name: str

    def __call__(self, image: NDArray[np.uint8], *, bgr: bool = True) -> list[Box]: ...


# --- Haar cascade (baseline) ------------------------------------------------------------

CASCADE_FILE = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
# Pyramid step and votes: coarser than OpenCV's defaults (1.1, 3), which halves the work
# per frame and still finds frontal faces reliably.
SCALE_FACTOR = 1.2
MIN_NEIGHBORS = 4


class HaarDetector:
    """OpenCV's frontal-face Haar cascade on the equalised grayscale image."""

    name = "haar"

    def __init__(self, min_face_fraction: float = 0.12) -> None:
        # The smallest face side relative to the shorter image side: suppresses tiny
        # false positives in the background.
        self.min_face_fraction = min_face_fraction
        self.cascade = cv2.CascadeClassifier(str(CASCADE_FILE))
        if self.cascade.empty():
            raise RuntimeError(f"Cannot load Haar cascade from {CASCADE_FILE}")

    def __call__(self, image: NDArray[np.uint8], *, bgr: bool = True) -> list[Box]:
        gray = to_gray(image, bgr=bgr)
        height, width = gray.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        min_side = max(20, round(min(small.shape[:2]) * self.min_face_fraction))
        found = self.cascade.detectMultiScale(
            cv2.equalizeHist(small), scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(min_side, min_side)
        )
        boxes = [tuple(round(v / scale) for v in box) for box in np.asarray(found).reshape(-1, 4)]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


# --- BlazeFace (MediaPipe short-range) ----------------------------------------------------

BLAZEFACE_FILE = Path(__file__).resolve().parent / "blazeface" / "face_detection_short_range.tflite"
BLAZEFACE_SIZE = 128
# MediaPipe's face_detection_short_range graph: score threshold and NMS overlap.
MIN_SCORE = 0.5
NMS_IOU = 0.3
# BlazeFace boxes run from brows to chin; the Haar cascade's, which the classifier's crops
# were first checked with, take in the forehead. On the faces both find (see the detector
# benchmark) Haar's box is 1.17x as large and centred 0.09 box-heights higher; applying
# that keeps the crop framing the same whichever detector runs.
BOX_SCALE = 1.17
BOX_SHIFT_UP = 0.09


def blazeface_anchors() -> NDArray[np.float32]:
    """Anchor centres (896, 2) of the short-range model, normalised to [0, 1].

    MediaPipe's SSD anchor options for it: four layers with strides 8, 16, 16, 16 and
    two anchors per layer (aspect ratio 1 plus an interpolated scale), all of fixed
    size 1; layers that share a stride share a grid, so the 8-stride grid (16x16) has
    two anchors per cell and the 16-stride grid (8x8) six.
    """
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = BLAZEFACE_SIZE // stride
        y, x = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(x.ravel() + 0.5) / cells, (y.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


class BlazeFaceDetector:
    """MediaPipe BlazeFace short-range through the LiteRT interpreter (no TensorFlow)."""

    name = "blazeface"

    def __init__(self, num_threads: int = 1, min_score: float = MIN_SCORE) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.min_score = min_score
        self.interpreter = Interpreter(model_path=str(BLAZEFACE_FILE), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = {tuple(o["shape"][1:]): o["index"] for o in self.interpreter.get_output_details()}
        self.boxes_index, self.scores_index = outputs[(896, 16)], outputs[(896, 1)]
        self.anchors = blazeface_anchors()
        self._lock = threading.Lock()  # the interpreter is not re-entrant

    def __call__(self, image: NDArray[np.uint8], *, bgr: bool = True) -> list[Box]:
        rgb = _to_rgb(image, bgr=bgr)
        height, width = rgb.shape[:2]
        # Letterbox: keep the aspect ratio, centre on a square canvas, scale to [-1, 1].
        scale = BLAZEFACE_SIZE / max(height, width)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        pad_x, pad_y = (BLAZEFACE_SIZE - w) // 2, (BLAZEFACE_SIZE - h) // 2
        canvas = np.zeros((1, BLAZEFACE_SIZE, BLAZEFACE_SIZE, 3), np.float32)
        small = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        canvas[0, pad_y : pad_y + h, pad_x : pad_x + w] = small / 127.5 - 1.0
        with self._lock:
            self.interpreter.set_tensor(self.input_index, canvas)
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.boxes_index)[0, :, :4]
            logits = self.interpreter.get_tensor(self.scores_index)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        # Regressors are offsets in input pixels from the anchor centre, then width/height.
        centre = raw[keep, :2] / BLAZEFACE_SIZE + self.anchors[keep]
        size = raw[keep, 2:4] / BLAZEFACE_SIZE
        centre[:, 1] -= BOX_SHIFT_UP * size[:, 1]
        size = size * BOX_SCALE
        corner = (centre - size / 2) * BLAZEFACE_SIZE - (pad_x, pad_y)
        rects = np.concatenate([corner, size * BLAZEFACE_SIZE], axis=1) / scale
        picked = cv2.dnn.NMSBoxes(rects.tolist(), scores[keep].tolist(), self.min_score, NMS_IOU)
        boxes = [_clip(rects[i], width, height) for i in np.asarray(picked).reshape(-1)]
        return sorted((b for b in boxes if b[2] > 0 and b[3] > 0), key=lambda b: b[2] * b[3], reverse=True)


def _to_rgb(image: NDArray[np.uint8], *, bgr: bool) -> NDArray[np.uint8]:
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        if image.shape[2] == 4:
            return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if bgr else image
    raise ValueError(f"Unsupported image shape {image.shape}; expected HxW or HxWxC")


def _clip(rect: NDArray[np.float32], width: int, height: int) -> Box:
    x0, y0 = max(0, round(float(rect[0]))), max(0, round(float(rect[1])))
    x1 = min(width, round(float(rect[0] + rect[2])))
    y1 = min(height, round(float(rect[1] + rect[3])))
    return x0, y0, x1 - x0, y1 - y0


# --- Shared entry points ------------------------------------------------------------------


@lru_cache(maxsize=4)
def get_detector(name: str = DEFAULT_DETECTOR, num_threads: int = 1) -> Detector:
    """The process's detector of that kind, loaded once."""
    if name == "blazeface":
        return BlazeFaceDetector(num_threads)
    if name == "haar":
        return HaarDetector()
    raise ValueError(f"Unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")


def detect_faces(image: NDArray[np.uint8], *, bgr: bool = True, detector: str = DEFAULT_DETECTOR) -> list[Box]:
    """Face boxes (x, y, w, h) in ``image``'s pixels, largest first."""
    return get_detector(detector)(image, bgr=bgr)


def largest_face(image: NDArray[np.uint8], *, bgr: bool = True, detector: str = DEFAULT_DETECTOR) -> Box | None:
    """The largest detected face, padded like the FER2013 crops, or None."""
    boxes = detect_faces(image, bgr=bgr, detector=detector)
    return pad_box(boxes[0], image.shape) if boxes else None
