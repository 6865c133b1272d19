"""Test-time augmentation: class probabilities averaged over flipped, shifted and zoomed views.

Kept apart from :mod:`emotion.ml.evaluate` (reports) and :mod:`emotion.ml.inference`
(serving), which both use it, and free of TensorFlow so the worker's LiteRT path can
import it. The training augmentation is :mod:`emotion.ml.augment`.
"""

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

Predictor = Callable[[NDArray[np.float32]], NDArray[np.float32]]
# Reports made with TTA carry this suffix on their model_version, so the JSON
# (whose keys are fixed) still says how it was measured.
TTA_SUFFIX = "+tta"
# Shifts (dy, dx) in pixels used by test-time augmentation; together with the
# model's centre crop they emulate the classic multi-crop evaluation.
TTA_SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (-2, -2), (-2, 2), (2, -2), (2, 2))
# Zoom factors of four more views (each also flipped): FER2013 faces vary in scale, and on the
# validation split these views added 0.6 points to the shifts alone (emotion/model/README.md).
TTA_ZOOMS: tuple[float, ...] = (1.08, 0.92)
TTA_DESCRIPTION = (
    f"mean over {2 * (len(TTA_SHIFTS) + len(TTA_ZOOMS))} views: identity and horizontal flip, "
    f"each shifted by {TTA_SHIFTS} and zoomed about the centre by {TTA_ZOOMS}"
)


def _shift(batch: NDArray[np.float32], dy: int, dx: int) -> NDArray[np.float32]:
    """Translate (N,H,W,1) images by (dy, dx), filling edges by reflection."""
    if dy == dx == 0:
        return batch
    pad = max(abs(dy), abs(dx))
    padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    h, w = batch.shape[1:3]
    return padded[:, pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def _zoom(batch: NDArray[np.float32], factor: float) -> NDArray[np.float32]:
    """Scale (N,H,W,1) images about their centre, cropping or reflect-padding back to (H,W)."""
    h, w = batch.shape[1:3]
    nh, nw = round(h * factor), round(w * factor)
    out = np.empty_like(batch)
    for i, image in enumerate(batch[..., 0]):
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        if factor >= 1:
            top, left = (nh - h) // 2, (nw - w) // 2
            out[i, ..., 0] = resized[top : top + h, left : left + w]
        else:
            top, left = (h - nh) // 2, (w - nw) // 2
            out[i, ..., 0] = cv2.copyMakeBorder(resized, top, h - nh - top, left, w - nw - left, cv2.BORDER_REFLECT)
    return out


def predict_proba(predict: Predictor, x: NDArray[np.float32], tta: bool = False) -> NDArray[np.float32]:
    """Class probabilities, averaged over flipped, shifted and zoomed views when ``tta`` is set."""
    if not tta:
        return predict(x)
    flipped = x[:, :, ::-1]
    views = [_shift(v, dy, dx) for v in (x, flipped) for dy, dx in TTA_SHIFTS]
    views += [_zoom(v, factor) for factor in TTA_ZOOMS for v in (x, flipped)]
    return np.mean([predict(v) for v in views], axis=0)
