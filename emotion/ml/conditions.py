"""Webcam conditions applied to 48x48 faces: blur, low resolution, noise, compression, light, pose, occlusion.

One home for every degradation, so the training augmentation (random kinds and
strengths, :func:`random_degrade`) and the robustness benchmark (fixed
strengths, :data:`CONDITIONS`) apply exactly the same image operations.
NumPy/OpenCV only (no TensorFlow): training calls it through ``tf.numpy_function``.
"""

from collections.abc import Callable
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

Face = NDArray[np.uint8]  # (48, 48) grayscale
Degrade = Callable[[Face, np.random.Generator], Face]


def _u8(image: NDArray[np.floating]) -> Face:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def gaussian_blur(face: Face, sigma: float) -> Face:
    """Defocus."""
    return cv2.GaussianBlur(face, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def motion_blur(face: Face, length: int, angle_deg: float) -> Face:
    """A straight camera or head movement during the exposure: a line kernel of ``length`` pixels."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    centre = ((length - 1) / 2, (length - 1) / 2)
    kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D(centre, angle_deg, 1.0), (length, length))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(face, -1, kernel, borderType=cv2.BORDER_REFLECT)


def downscale(face: Face, size: int) -> Face:
    """A small face (shopper far from the camera): ``size`` px wide, upscaled back as the crop step does."""
    small = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, face.shape[::-1], interpolation=cv2.INTER_LINEAR)


def gaussian_noise(face: Face, sigma: float, rng: np.random.Generator) -> Face:
    """Sensor noise in dim light (grey levels)."""
    return _u8(face + rng.normal(0.0, sigma, face.shape))


def jpeg(face: Face, quality: int) -> Face:
    """Compression artefacts (the page sends JPEG at quality 0.7; poor uplinks go lower)."""
    ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def gain(face: Face, factor: float) -> Face:
    """Exposure: pixels times ``factor`` (0.4 = a dark room)."""
    return _u8(face.astype(np.float32) * factor)


def contrast(face: Face, factor: float) -> Face:
    """Flat light: contrast scaled by ``factor`` around mid-grey."""
    return _u8((face.astype(np.float32) - 128.0) * factor + 128.0)


def gamma(face: Face, value: float) -> Face:
    """A camera's tone curve: ``255 * (x/255) ** value``."""
    return _u8(255.0 * (face.astype(np.float32) / 255.0) ** value)


def rotate(face: Face, degrees: float) -> Face:
    """A tilted head."""
    h, w = face.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
    return cv2.warpAffine(face, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def shift(face: Face, pixels: int) -> Face:
    """A detector box off by ``pixels`` diagonally."""
    matrix = np.float32([[1, 0, pixels], [0, 1, pixels]])
    return cv2.warpAffine(face, matrix, face.shape[::-1], borderMode=cv2.BORDER_REFLECT)


def glasses(face: Face, darkness: float) -> Face:
    """A glasses-like dark bar across the eyes (rows 14-22 of a FER2013-aligned face)."""
    out = face.astype(np.float32)
    out[14:23, 4:44] *= 1.0 - darkness
    return _u8(out)


def hand(face: Face, fraction: float) -> Face:
    """A hand-like flat patch over the lower face, covering ``fraction`` of its width from the left."""
    out = face.copy()
    width = max(1, round(48 * fraction))
    out[30:48, :width] = int(np.median(face))
    return out


# Benchmark conditions: name -> (kind, strength, deterministic function of (face, rng)).
CONDITIONS: Final[dict[str, tuple[str, float, Degrade]]] = {
    "clean": ("clean", 0, lambda f, r: f),
    **{f"gain {g}": ("dark", g, lambda f, r, g=g: gain(f, g)) for g in (0.6, 0.4, 0.25)},
    **{f"contrast {c}": ("low contrast", c, lambda f, r, c=c: contrast(f, c)) for c in (0.6, 0.4, 0.25)},
    **{f"gamma {v}": ("gamma", v, lambda f, r, v=v: gamma(f, v)) for v in (0.5, 2.0)},
    **{f"blur {s}": ("gaussian blur", s, lambda f, r, s=s: gaussian_blur(f, s)) for s in (1.0, 1.5, 2.0)},
    **{f"motion {n}": ("motion blur", n, lambda f, r, n=n: motion_blur(f, n, 30.0)) for n in (3, 5, 7)},
    **{f"face {s}px": ("low resolution", s, lambda f, r, s=s: downscale(f, s)) for s in (32, 24, 16, 12)},
    **{f"noise {s}": ("noise", s, lambda f, r, s=s: gaussian_noise(f, s, r)) for s in (10, 20, 30)},
    **{f"jpeg {q}": ("jpeg", q, lambda f, r, q=q: jpeg(f, q)) for q in (50, 30, 20, 10)},
    **{f"rotate {d}": ("rotation", d, lambda f, r, d=d: rotate(f, d)) for d in (10, 20, 30)},
    **{f"shift {p}px": ("shift", p, lambda f, r, p=p: shift(f, p)) for p in (2, 4, 6)},
    "glasses": ("occlusion", 0.8, lambda f, r: glasses(f, 0.8)),
    "hand 0.5": ("occlusion", 0.5, lambda f, r: hand(f, 0.5)),
}
# The conditions the robustness issue's table names (its targets are on these).
HEADLINE: Final[tuple[str, ...]] = (
    "gain 0.4",
    "contrast 0.4",
    "blur 1.5",
    "jpeg 20",
    "face 16px",
    "rotate 20",
    "noise 20",
    "shift 4px",
)


def face_px(name: str) -> float:
    """The face's side in frame pixels under condition ``name`` (small faces are upscaled to 48)."""
    kind, strength, _ = CONDITIONS[name]
    return float(strength) if kind == "low resolution" else 48.0


def apply(name: str, faces: NDArray[np.uint8], seed: int = 0) -> NDArray[np.uint8]:
    """Apply benchmark condition ``name`` to (N,48,48) faces, reproducibly."""
    _, _, fn = CONDITIONS[name]
    rng = np.random.default_rng(seed)
    return np.stack([fn(face, rng) for face in faces])


# Training draws: kind -> strength sampler. Ranges span the benchmark's strengths, and a
# little beyond, so the model does not learn only the exact benchmark values.
_TRAIN_DRAWS: Final[tuple[Degrade, ...]] = (
    lambda f, r: gaussian_blur(f, r.uniform(0.5, 2.2)),
    lambda f, r: motion_blur(f, int(r.integers(3, 9)), r.uniform(0, 180)),
    lambda f, r: downscale(f, int(r.integers(11, 33))),
    lambda f, r: gaussian_noise(f, r.uniform(4, 30), r),
    lambda f, r: jpeg(f, int(r.integers(8, 60))),
    lambda f, r: gain(f, r.uniform(0.25, 0.9)),
    lambda f, r: contrast(f, r.uniform(0.25, 0.9)),
    lambda f, r: gamma(f, float(np.exp(r.uniform(np.log(0.5), np.log(2.2))))),
)


def random_degrade(faces: NDArray[np.uint8], prob: float, seed: int | NDArray[np.int64]) -> NDArray[np.uint8]:
    """Training augmentation: each face, with probability ``prob``, gets one random condition.

    A face so chosen gets a second one with probability ``prob`` too (a dark room is also
    noisy), never more than two; geometric changes stay with the batched TensorFlow augmentation.
    """
    rng = np.random.default_rng(seed)
    out = faces.copy()
    for i in range(len(out)):
        for _ in range(2):
            if rng.random() >= prob:
                break
            out[i] = _TRAIN_DRAWS[rng.integers(len(_TRAIN_DRAWS))](out[i], rng)
    return out
