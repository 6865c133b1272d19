"""Cheap, strict checks of an uploaded camera frame, run by the API before enqueueing.

The web process must answer fast, so it never fully decodes a frame: it checks the magic
bytes, reads the header for the declared size (which stops decompression bombs before
any pixel is allocated), then decodes a 1/8-scale draft, which still reads every byte of
the compressed stream and so catches truncated or corrupt files.
"""

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class FrameRejected(ValueError):
    """The frame is unusable; the message is safe to show to the client."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class FrameInfo:
    content_type: str
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The image type from the first bytes, whatever the client claimed."""
    for content_type, prefixes in MAGIC.items():
        if data.startswith(prefixes):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def validate_frame(data: bytes, *, max_bytes: int, max_width: int, max_height: int) -> FrameInfo:
    if not data:
        raise FrameRejected("The frame is empty.", "empty")
    if len(data) > max_bytes:
        raise FrameRejected(f"The frame is {len(data)} bytes; the limit is {max_bytes}.", "too_large")
    content_type = sniff(data)
    if content_type is None:
        raise FrameRejected("The frame must be a JPEG, PNG or WebP image.", "unsupported_type")
    try:
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[content_type]]) as image:
            width, height = image.size
            if not (0 < width <= max_width and 0 < height <= max_height):
                raise FrameRejected(
                    f"The frame is {width}×{height}; it must be at most {max_width}×{max_height}.", "bad_dimensions"
                )
            image.draft("L", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except FrameRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise FrameRejected("The frame declares an absurd size (decompression bomb).", "bad_dimensions") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise FrameRejected("The frame could not be decoded (corrupt or truncated).", "undecodable") from exc
    return FrameInfo(content_type, width, height)
