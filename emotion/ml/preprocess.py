"""The single image preprocessing path shared by training and inference.

Training images (FER2013 48x48 faces) and live camera frames both end in
:func:`to_network_input`, so the network always sees identically scaled
pixels.
"""

from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

FACE_SIZE: Final[int] = 48
# FER2013 faces are loosely cropped, so detector boxes are enlarged by this
# fraction of their size per side. Calibrated on FER2013 itself: run on 600
# training faces, the Haar cascade's box is centred and spans a median 84%
# of the frame, so a 10% margin per side reproduces the training framing.
FACE_PADDING: Final[float] = 0.10

Box = tuple[int, int, int, int]  # x, y, width, height in pixels


def to_gray(image: NDArray[np.uint8], *, bgr: bool = True) -> NDArray[np.uint8]:
    """Convert a gray, BGR/RGB or BGRA/RGBA uint8 image to 2-D grayscale."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = {
            (3, True): cv2.COLOR_BGR2GRAY,
            (3, False): cv2.COLOR_RGB2GRAY,
            (4, True): cv2.COLOR_BGRA2GRAY,
            (4, False): cv2.COLOR_RGBA2GRAY,
        }[(image.shape[2], bgr)]
        return cv2.cvtColor(image, code)
    raise ValueError(f"Unsupported image shape {image.shape}; expected HxW or HxWxC")


def pad_box(box: Box, frame_shape: tuple[int, ...], padding: float = FACE_PADDING) -> Box:
    """Grow ``box`` by ``padding`` per side, clipped to the frame."""
    x, y, w, h = box
    height, width = frame_shape[:2]
    dx, dy = round(w * padding), round(h * padding)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    return x0, y0, x1 - x0, y1 - y0


def crop_face(gray: NDArray[np.uint8], box: Box) -> NDArray[np.uint8]:
    """Cut ``box`` (already padded) out of a grayscale frame, resized to 48x48."""
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ValueError(f"Empty face box {box}")
    face = gray[y : y + h, x : x + w]
    interpolation = cv2.INTER_AREA if min(w, h) >= FACE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=interpolation)


def to_network_input(faces: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Scale uint8 faces (N,48,48) or (48,48) to the float32 (N,48,48,1) in [0,1]."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.ndim == 4 and faces.shape[-1] == 1:
        faces = faces[..., 0]
    if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"Expected faces of shape (N,{FACE_SIZE},{FACE_SIZE}), got {faces.shape}")
    return (faces.astype(np.float32) / 255.0)[..., None]
