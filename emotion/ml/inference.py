"""Emotion inference for uploaded images and camera frames.

:class:`EmotionClassifier` loads the shipped model (the LiteRT/TFLite export
when present, else the Keras file) and is safe to share between threads; the
worker keeps one per process (``emotion.tasks``). Image bytes are decoded with Pillow after checking
the header, so corrupt uploads and decompression bombs fail fast with an
:class:`ImageDecodeError` instead of exhausting memory.
"""

import hashlib
import io
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from emotion.ml.calibrate import apply_temperature
from emotion.ml.detect import DEFAULT_DETECTOR, DETECT_MAX_SIDE, get_detector
from emotion.ml.labels import CLASSES
from emotion.ml.preprocess import Box, crop_face, pad_box, to_gray, to_network_input
from emotion.ml.tta import Predictor, predict_proba

if TYPE_CHECKING:  # the worker's LiteRT path must not import Keras/TensorFlow
    import keras

MODEL_DIR: Final[Path] = Path(__file__).resolve().parents[1] / "model"
ALLOWED_FORMATS: Final[tuple[str, ...]] = ("JPEG", "PNG", "WEBP")
MAX_BYTES: Final[int] = 10 * 1024 * 1024
MAX_PIXELS: Final[int] = 25_000_000  # ~5000x5000; far above any webcam frame


class ImageDecodeError(ValueError):
    """The uploaded bytes are not a usable JPEG/PNG/WebP image."""


class ModelNotFoundError(FileNotFoundError):
    """No trained model in the model directory."""


@dataclass(frozen=True)
class FacePrediction:
    """One classified face: padded box in frame pixels and class probabilities."""

    box: Box
    label: str
    confidence: float
    probabilities: dict[str, float]


def decode_image(
    data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS, max_side: int | None = None
) -> NDArray[np.uint8]:
    """Decode JPEG/PNG/WebP bytes to an RGB uint8 array (EXIF rotation applied).

    With ``max_side``, a larger JPEG is decoded straight at a reduced scale (libjpeg's
    1/2, 1/4 or 1/8, never below ``max_side``): several times cheaper than a full decode,
    and face detection works on a copy that size anyway.
    """
    if not data:
        raise ImageDecodeError("Empty image")
    if len(data) > max_bytes:
        raise ImageDecodeError(f"Image file too large ({len(data)} bytes > {max_bytes})")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            width, height = image.size  # from the header; nothing decoded yet
            if width < 1 or height < 1:
                raise ImageDecodeError(f"Zero-size image ({width}x{height})")
            if width * height > max_pixels:
                raise ImageDecodeError(f"Image too large ({width}x{height} > {max_pixels} pixels)")
            if max_side and max(width, height) > max_side:
                ratio = max_side / max(width, height)
                image.draft("RGB", (max(1, round(width * ratio)), max(1, round(height * ratio))))
            image.load()
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"Image too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageDecodeError("Not a valid JPEG, PNG or WebP image") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"Corrupt or truncated image ({exc})") from exc
    return np.asarray(rgb)


def keras_predictor(model: "keras.Model", batch_size: int = 512) -> Predictor:
    """Predictor backed by an in-memory Keras model, for validation and reports.

    Feeds numpy chunks to ``predict_on_batch`` rather than calling
    ``model.predict``, whose tf.data pipeline, run right after ``fit`` on a
    2-core CPU, once hung a training run for good.
    """

    def predict(x: NDArray[np.float32]) -> NDArray[np.float32]:
        chunks = [model.predict_on_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks).astype(np.float32)

    return predict


def load_keras_predictor(path: str | Path) -> Predictor:
    """Predictor backed by a ``.keras`` file (slower, but needs no export)."""
    import keras

    return keras_predictor(keras.models.load_model(path, compile=False))


def tflite_predictor(path: str | Path, num_threads: int = 1) -> Predictor:
    """Predictor backed by a ``.tflite`` file via the LiteRT interpreter (no TensorFlow import)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    allocated: list[tuple[int, ...]] = []  # the input shape tensors are allocated for

    def predict(x: NDArray[np.float32]) -> NDArray[np.float32]:
        if allocated != [x.shape]:  # re-allocating costs more than a small inference
            interpreter.resize_tensor_input(input_index, x.shape)
            interpreter.allocate_tensors()
            allocated[:] = [x.shape]
        interpreter.set_tensor(input_index, np.ascontiguousarray(x, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return predict


def model_version_of(model_path: str | Path) -> str:
    """``model_version`` from the sibling model card, else a content hash."""
    card = Path(model_path).with_name("model_card.json")
    if card.exists():
        return json.loads(card.read_text())["model_version"]
    return "sha256-" + hashlib.sha256(Path(model_path).read_bytes()).hexdigest()[:12]


class EmotionClassifier:
    """A loaded emotion model; classify faces or whole frames.

    ``tta`` averages predictions over flips, small shifts and zooms, which is how
    the shipped PublicTest figures are measured when the card says so.
    """

    def __init__(
        self,
        model_dir: str | Path = MODEL_DIR,
        tta: bool = True,
        num_threads: int = 1,
        detector: str = DEFAULT_DETECTOR,
    ) -> None:
        model_dir = Path(model_dir)
        self.detector = get_detector(detector, num_threads)
        tflite, keras_file = model_dir / "emotion.tflite", model_dir / "emotion.keras"
        if tflite.exists():
            self._predict, model_file = tflite_predictor(tflite, num_threads), tflite
        elif keras_file.exists():
            self._predict, model_file = load_keras_predictor(keras_file), keras_file
        else:
            raise ModelNotFoundError(f"No emotion.tflite or emotion.keras in {model_dir}")
        self.model_version = model_version_of(model_file)
        self.tta = tta
        card_path = model_dir / "model_card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        # Chosen on the validation split for this very model (emotion.ml.release); a model
        # without them (an older card) is served uncalibrated with the reactions' default cut.
        self.temperature: float = card.get("calibration", {}).get("temperature", 1.0)
        self.min_confidence: float | None = card.get("calibration", {}).get("min_confidence")
        self.quality_threshold: float | None = card.get("quality", {}).get("threshold")
        self._lock = threading.Lock()  # the TFLite interpreter is not re-entrant

    def classify_faces(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Calibrated probabilities (N,7) for 48x48 grayscale uint8 faces (N,48,48)."""
        x = to_network_input(faces)
        with self._lock:
            return apply_temperature(predict_proba(self._predict, x, self.tta), self.temperature)

    def analyze(
        self, frame: NDArray[np.uint8], *, bgr: bool = True, largest_only: bool = False
    ) -> list[FacePrediction]:
        """Detect faces in a frame and classify each; [] when no face is found."""
        gray = to_gray(frame, bgr=bgr)
        boxes = [pad_box(box, gray.shape) for box in self.detector(frame, bgr=bgr)]
        if largest_only:
            boxes = boxes[:1]
        if not boxes:
            return []
        probs = self.classify_faces(np.stack([crop_face(gray, box) for box in boxes]))
        return [
            FacePrediction(
                box=box,
                label=CLASSES[int(p.argmax())],
                confidence=float(p.max()),
                probabilities={name: float(v) for name, v in zip(CLASSES, p, strict=True)},
            )
            for box, p in zip(boxes, probs, strict=True)
        ]

    def analyze_bytes(self, data: bytes, *, largest_only: bool = False) -> list[FacePrediction]:
        """Decode uploaded image bytes (at detection scale) and :meth:`analyze` them.

        Boxes are returned in the pixels of the original image.
        """
        frame = decode_image(data, max_side=DETECT_MAX_SIDE)
        faces = self.analyze(frame, bgr=False, largest_only=largest_only)
        if not faces:
            return faces
        with Image.open(io.BytesIO(data)) as image:  # header only: the original size
            scale = max(image.size) / max(frame.shape[:2])
        return [replace(face, box=tuple(round(v * scale) for v in face.box)) for face in faces]
