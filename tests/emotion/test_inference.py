import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from emotion.ml.inference import EmotionClassifier, ImageDecodeError, ModelNotFoundError, decode_image
from emotion.ml.labels import CLASSES


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (pixel data missing)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"") + png_chunk(b"IEND", b"")


def encode(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def classifier(random_model_dir: Path) -> EmotionClassifier:
    return EmotionClassifier(random_model_dir, tta=False)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_decode_supported_formats(fmt: str) -> None:
    image = np.full((20, 30, 3), 128, np.uint8)
    decoded = decode_image(encode(image, fmt))
    assert decoded.shape == (20, 30, 3) and decoded.dtype == np.uint8


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "Empty image"),
        (b"definitely not an image", "Not a valid JPEG, PNG or WebP"),
        (encode(np.zeros((40, 40, 3), np.uint8), "PNG")[:60], "Corrupt or truncated"),
        (png_header(0, 10), "Not a valid JPEG, PNG or WebP"),
        (png_header(30_000, 30_000), "too large"),
        (png_header(200_000, 200_000), "too large"),
        (encode(np.zeros((8, 8, 3), np.uint8), "BMP"), "Not a valid JPEG, PNG or WebP"),
    ],
)
def test_decode_rejects_bad_bytes_clearly(payload: bytes, message: str) -> None:
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(payload)


def test_decode_rejects_oversized_files() -> None:
    with pytest.raises(ImageDecodeError, match="file too large"):
        decode_image(b"\0" * 101, max_bytes=100)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        EmotionClassifier(tmp_path)


def test_no_face_frame_returns_no_faces(classifier: EmotionClassifier) -> None:
    frame = np.full((480, 640, 3), 127, np.uint8)
    cv2.rectangle(frame, (100, 100), (300, 200), (20, 200, 20), -1)
    assert classifier.analyze(frame) == []


def test_astronaut_has_one_classified_face(classifier: EmotionClassifier) -> None:
    faces = classifier.analyze_bytes(encode(data.astronaut(), "JPEG"))
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert 140 < x + w / 2 < 300 and 50 < y + h / 2 < 200  # her face, upper middle
    assert face.label in CLASSES and face.label == max(face.probabilities, key=face.probabilities.get)
    assert np.isclose(sum(face.probabilities.values()), 1, atol=1e-4)
    assert face.confidence == face.probabilities[face.label]


def test_classify_faces_batch(classifier: EmotionClassifier) -> None:
    probs = classifier.classify_faces(np.zeros((3, 48, 48), np.uint8))
    assert probs.shape == (3, len(CLASSES))
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-4)
