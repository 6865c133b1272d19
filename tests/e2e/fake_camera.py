"""A fake webcam for Chromium: a .y4m video of a real face (scikit-image's public-domain astronaut)."""

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

WIDTH, HEIGHT, FPS = 320, 240, 10


def _yuv420(rgb: Image.Image) -> bytes:
    """One frame in Y4M's C420jpeg layout: the full Y plane, then quarter-size Cb and Cr planes."""
    y, cb, cr = (np.asarray(plane) for plane in rgb.convert("YCbCr").split())
    half = (WIDTH // 2, HEIGHT // 2)
    cb = np.asarray(Image.fromarray(cb).resize(half, Image.BILINEAR))
    cr = np.asarray(Image.fromarray(cr).resize(half, Image.BILINEAR))
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def write_face_video(path: Path, face_seconds: float = 4.0, empty_seconds: float = 0.0) -> Path:
    """Write ``face_seconds`` of the astronaut's smiling face, then optionally frames with no face."""
    face = Image.fromarray(data.astronaut()).crop((0, 0, 512, 384)).resize((WIDTH, HEIGHT))
    empty = Image.new("RGB", (WIDTH, HEIGHT), (120, 130, 140))
    frames = [face] * int(face_seconds * FPS) + [empty] * int(empty_seconds * FPS)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + _yuv420(frame))
    return path
