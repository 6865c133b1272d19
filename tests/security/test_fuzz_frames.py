"""Fuzzing the frame validator (web) and decoder (worker): always a clean rejection, never a crash or hang."""

import contextlib
import io
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from emotion.ml.inference import ImageDecodeError, decode_image
from emotion.validation import FrameRejected, validate_frame

LIMITS = {"max_bytes": 256 * 1024, "max_width": 1920, "max_height": 1080}


def encode(fmt: str, size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


VALID = {fmt: encode(fmt) for fmt in ("JPEG", "PNG", "WEBP")}


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares an arbitrary size (the classic decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def check_both(data: bytes) -> None:
    """Both entry points either accept or reject with their own error type, quickly."""
    start = time.monotonic()
    try:
        validate_frame(data, **LIMITS)
    except FrameRejected as exc:
        assert exc.code in {"empty", "too_large", "unsupported_type", "bad_dimensions", "undecodable"}
    with contextlib.suppress(ImageDecodeError):
        decode_image(data)
    assert time.monotonic() - start < 2.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    check_both(data)


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(sorted(VALID)), cut=st.floats(0, 1), flips=st.lists(st.integers(0, 10**6), max_size=8))
def test_truncated_and_corrupted_images(fmt, cut, flips):
    data = bytearray(VALID[fmt][: int(len(VALID[fmt]) * cut)])
    for position in flips:
        if data:
            data[position % len(data)] ^= 0xFF
    check_both(bytes(data))


@settings(max_examples=100, deadline=None)
@given(width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1))
def test_huge_declared_dimensions(width, height):
    check_both(png_declaring(width, height))


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_valid_images_pass_both(fmt):
    assert validate_frame(VALID[fmt], **LIMITS).width == 64
    assert decode_image(VALID[fmt]).shape == (48, 64, 3)


def test_bomb_is_rejected_before_decoding():
    bomb = png_declaring(100_000, 100_000)
    with pytest.raises(FrameRejected) as rejected:
        validate_frame(bomb, **LIMITS)
    assert rejected.value.code == "bad_dimensions"
    with pytest.raises(ImageDecodeError):
        decode_image(bomb)
