"""A fake webcam for Chromium: a .y4m video of a real face (scikit-image's public-domain astronaut)."""

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

WIDTH, HEIGHT, FPS = 320, 240, 10


# The astronaut's face box in scikit-image's 512x512 picture, as BlazeFace finds it.
ASTRONAUT_FACE = (172, 66, 110, 110)


def _yuv420(rgb: Image.Image) -> bytes:
    """One frame in Y4M's C420jpeg layout: the full Y plane, then quarter-size Cb and Cr planes."""
    y, cb, cr = (np.asarray(plane) for plane in rgb.convert("YCbCr").split())
    half = (rgb.width // 2, rgb.height // 2)
    cb = np.asarray(Image.fromarray(cb).resize(half, Image.BILINEAR))
    cr = np.asarray(Image.fromarray(cr).resize(half, Image.BILINEAR))
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def write_face_video(path: Path, face_seconds: float = 4.0, empty_seconds: float = 0.0) -> Path:
    """Write ``face_seconds`` of the astronaut's smiling face, then optionally frames with no face."""
    face = Image.fromarray(data.astronaut()).crop((0, 0, 512, 384)).resize((WIDTH, HEIGHT))
    empty = Image.new("RGB", (WIDTH, HEIGHT), (120, 130, 140))
    return _write(path, [face] * int(face_seconds * FPS) + [empty] * int(empty_seconds * FPS))


def write_far_face_video(path: Path, width: int = 1280, height: int = 720, face_px: int = 120) -> Path:
    """A one-second loop of a high-resolution camera with the astronaut far away: her face ``face_px`` wide.

    Drawn whole into the page's 320x240 that face keeps a quarter of its pixels.
    """
    x, y, w, h = ASTRONAUT_FACE
    scale = face_px / w
    astronaut = Image.fromarray(data.astronaut())
    small = astronaut.resize((round(512 * scale), round(512 * scale)), Image.LANCZOS)
    picture = Image.new("RGB", (width, height), (120, 130, 140))
    picture.paste(small, (round(width / 2 - (x + w / 2) * scale), round(height / 2 - (y + h / 2) * scale)))
    return _write(path, [picture] * FPS)


def _write(path: Path, frames: list[Image.Image]) -> Path:
    width, height = frames[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + _yuv420(frame))
    return path
