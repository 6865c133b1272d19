"""Per-face quality score: is this crop sharp, large and well exposed enough to trust?

Blur and small faces halve the classifier's accuracy while it stays confident, so the
worker scores each face before its emotion is stored (a frame below the threshold is a
"low quality" gap). Three parts, each in [0, 1], and the score is the weakest of them:

- sharpness: variance of the Laplacian relative to the face's contrast (``var(L)/std^2``),
  so a dark or flat face is not mistaken for a blurred one; 1 at ``SHARPNESS_REF``;
- size: the face's side in frame pixels before it is resized to 48, 1 at ``SIZE_REF``;
- exposure: the pixels' standard deviation in grey levels, 1 at ``EXPOSURE_REF``.

The threshold is chosen on degraded copies of the validation split, never the test set
(:func:`choose_threshold`), and recorded in the model card beside the model it was
chosen for.
"""

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

SHARPNESS_REF: Final[float] = 0.3  # clean FER2013 faces: median 0.93, 10th percentile 0.51
SIZE_REF: Final[float] = 48.0  # the network's input side
EXPOSURE_REF: Final[float] = 32.0  # clean faces: median std 74 grey levels


@dataclass(frozen=True)
class FaceQuality:
    """The three parts and the score (their minimum), each in [0, 1]."""

    sharpness: float
    size: float
    exposure: float

    @property
    def score(self) -> float:
        return min(self.sharpness, self.size, self.exposure)


def face_quality(face: NDArray[np.uint8], face_px: float) -> FaceQuality:
    """Quality of one (48,48) grayscale crop whose box was ``face_px`` pixels wide in the frame."""
    std = float(face.std())
    laplacian = float(cv2.Laplacian(face, cv2.CV_64F).var())
    return FaceQuality(
        sharpness=min(1.0, laplacian / max(std, 1.0) ** 2 / SHARPNESS_REF),
        size=min(1.0, face_px / SIZE_REF),
        exposure=min(1.0, std / EXPOSURE_REF),
    )


def quality_scores(faces: NDArray[np.uint8], face_px: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """Scores of (N,48,48) crops, for benchmarks and threshold selection."""
    sizes = np.broadcast_to(np.asarray(face_px, dtype=np.float64), (len(faces),))
    return np.array([face_quality(face, px).score for face, px in zip(faces, sizes, strict=True)])


def choose_threshold(
    scores: dict[str, NDArray[np.float64]],
    correct: dict[str, NDArray[np.bool_]],
    *,
    clean: str = "clean",
    min_clean_kept: float = 0.95,
) -> float:
    """The threshold that stores the most right and the fewest wrong emotions.

    Over candidate thresholds that keep at least ``min_clean_kept`` of the clean faces,
    pick the one maximising (kept and right) - (kept and wrong), pooled over every
    degraded copy (``scores``/``correct``: condition -> per-face arrays): a score band is
    dropped when the model is wrong there more often than right.
    """
    pooled_scores = np.concatenate([scores[name] for name in scores if name != clean])
    signed = np.concatenate([np.where(correct[name], 1, -1) for name in correct if name != clean])
    best, best_value = 0.0, float(signed.sum())
    for threshold in np.round(np.arange(0.025, 1.0, 0.025), 3):
        if np.mean(scores[clean] >= threshold) < min_clean_kept:
            break
        value = float(signed[pooled_scores >= threshold].sum())
        if value > best_value:
            best, best_value = float(threshold), value
    return best
