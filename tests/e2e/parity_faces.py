"""A fixed set of faces and frames for the on-device parity check (and its benchmark).

Real faces shipped by scikit-image: the 100 LFW faces of ``data.lfw_subset()`` and the
astronaut, varied deterministically (scale, shift, rotation, light, contrast, noise, mirror),
as 48x48 classifier inputs; and 320x240 frames with zero, one or two faces at several sizes
and places, for the detector and the whole pipeline.
"""

import cv2
import numpy as np
from skimage import data

WIDTH, HEIGHT = 320, 240
ASTRONAUT_FACE = (150, 40, 110, 120)  # x, y, w, h of the face in data.astronaut()


def _vary(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One deterministic variation of a grayscale face crop, as a 48x48 uint8 face."""
    h, w = gray.shape
    angle, zoom = rng.uniform(-15, 15), rng.uniform(0.85, 1.2)
    shift = rng.uniform(-0.08, 0.08, 2) * (w, h)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, zoom)
    matrix[:, 2] += shift
    face = cv2.warpAffine(gray, matrix, (w, h), borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    face = (face - face.mean()) * rng.uniform(0.6, 1.3) + face.mean() + rng.uniform(-40, 40)
    face += rng.normal(0, rng.uniform(0, 8), face.shape)
    if rng.random() < 0.5:
        face = face[:, ::-1]
    face = np.clip(face, 0, 255).astype(np.uint8)
    return cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA if min(h, w) >= 48 else cv2.INTER_LINEAR)


def classifier_faces(variations: int = 4) -> np.ndarray:
    """(N, 48, 48) uint8 faces: each LFW face and the astronaut's, as is and varied."""
    rng = np.random.default_rng(20261202)
    lfw = (data.lfw_subset()[:100] * 255).round().astype(np.uint8)
    x, y, w, h = ASTRONAUT_FACE
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w]
    sources = [*lfw, astronaut]
    faces = [cv2.resize(s, (48, 48), interpolation=cv2.INTER_LINEAR) for s in sources]
    faces += [_vary(s, rng) for s in sources for _ in range(variations)]
    faces += [_vary(astronaut, rng) for _ in range(100)]
    return np.stack(faces)


def frames() -> list[np.ndarray]:
    """320x240 RGB frames: the astronaut at several sizes and places, LFW faces, two faces, none."""
    rng = np.random.default_rng(7)
    astronaut = data.astronaut()
    out = []
    for scale in (0.45, 0.6, 0.8, 1.0, 1.3):  # the face from about 50 to 150 pixels wide
        for dx in (-60, 0, 60):
            crop = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            cx, cy = (np.array([205, 100]) * scale).astype(int)
            canvas = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
            x0, y0 = WIDTH // 2 + dx - cx, HEIGHT // 2 - cy
            _paste(canvas, crop, x0, y0)
            out.append(canvas)
    coffee = cv2.resize(data.coffee(), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    for face in (data.lfw_subset()[:100:10] * 255).round().astype(np.uint8):
        canvas = coffee.copy()
        big = cv2.resize(face, (130, 130), interpolation=cv2.INTER_LINEAR)
        _paste(canvas, np.repeat(big[..., None], 3, axis=2), int(rng.integers(20, 170)), int(rng.integers(10, 100)))
        out.append(canvas)
    pair = cv2.resize(astronaut[:300, 100:340], (150, 190), interpolation=cv2.INTER_AREA)
    two = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    _paste(two, pair, 5, 25)
    _paste(two, pair, 165, 25)
    out.append(two)
    near_and_far = two.copy()
    near_and_far[:, 165:] = 90
    _paste(near_and_far, cv2.resize(pair, (60, 76), interpolation=cv2.INTER_AREA), 220, 20)
    out.append(near_and_far)
    out.append(coffee)  # no face
    out.append(cv2.resize(data.chelsea(), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))  # a cat
    return out


def _paste(canvas: np.ndarray, image: np.ndarray, x0: int, y0: int) -> None:
    h, w = image.shape[:2]
    x1, y1 = max(0, x0), max(0, y0)
    x2, y2 = min(canvas.shape[1], x0 + w), min(canvas.shape[0], y0 + h)
    canvas[y1:y2, x1:x2] = image[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0]
