"""The emotion lab: staff check the served model on one uploaded image, held in memory only.

The upload is read by :class:`CappedMemoryUploadHandler` (never a temporary file, whatever
``FILE_UPLOAD_MAX_MEMORY_SIZE`` says), checked by the frames API's own rules
(:func:`emotion.validation.validate_frame`), classified by the worker's classifier, and
returned to the page that asked; nothing is written to disk, the database or the logs.
"""

import base64
import hashlib
import io
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload
from django.http import HttpRequest
from PIL import Image

from .charts import COLOURS
from .validation import FrameInfo, FrameRejected, validate_frame

FIELD = "image"
BAR_WIDTH = 240
EXIF_ORIENTATION, SWAPPED_ORIENTATIONS = 0x0112, (5, 6, 7, 8)


class CappedMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps an upload in memory up to ``max_bytes`` and stops reading it beyond that.

    Replaces every other handler on the lab's request, so no part of an upload ever reaches
    a temporary file; a larger upload sets ``too_large`` and is discarded unread.
    """

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.too_large = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.activated = True  # in memory whatever the request size: the cap below bounds it

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.too_large = True
            raise StopUpload(connection_reset=False)  # the rest of the body is read and dropped
        return super().receive_data_chunk(raw_data, start)


def upload_handler(request: HttpRequest) -> CappedMemoryUploadHandler:
    return CappedMemoryUploadHandler(request, max_bytes=settings.EMOTION_LAB_MAX_BYTES)


def too_large() -> FrameRejected:
    return FrameRejected(f"The image is over the limit of {settings.EMOTION_LAB_MAX_BYTES} bytes.", "too_large")


@dataclass(frozen=True)
class Bar:
    emotion: str
    probability: float
    colour: str
    width: float  # in BAR_WIDTH pixels
    best: bool


@dataclass(frozen=True)
class Face:
    number: int
    x: int
    y: int
    width: int
    height: int
    label: str
    confidence: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class LabResult:
    width: int
    height: int
    content_type: str
    data_uri: str  # the image itself, shown back inside this response only
    faces: tuple[Face, ...]
    model_version: str
    detector: str
    milliseconds: float
    tta: bool

    @property
    def font_size(self) -> int:
        """Face numbers about 1/20 of the image, so they read at any image size."""
        return max(10, round(max(self.width, self.height) / 20))


def validate(data: bytes) -> FrameInfo:
    """The frames API's checks (size, magic bytes, header dimensions, decodability), at the lab's limits."""
    return validate_frame(
        data,
        max_bytes=settings.EMOTION_LAB_MAX_BYTES,
        max_width=settings.EMOTION_LAB_MAX_SIDE,
        max_height=settings.EMOTION_LAB_MAX_SIDE,
    )


@cache
def detector_version(name: str) -> str:
    """The detector's name and what pins it: its model file's hash, or the OpenCV build for Haar."""
    from emotion.ml import detect

    if name == "blazeface":
        digest = hashlib.sha256(detect.BLAZEFACE_FILE.read_bytes()).hexdigest()[:12]
        return f"blazeface ({detect.BLAZEFACE_FILE.name}, sha256-{digest})"
    import cv2

    return f"{name} (OpenCV {cv2.__version__})"


def _displayed_size(data: bytes, info: FrameInfo) -> tuple[int, int]:
    """The size the image shows at once its EXIF rotation is applied, as the classifier sees it."""
    with Image.open(io.BytesIO(data)) as image:
        orientation = image.getexif().get(EXIF_ORIENTATION)
    return (info.height, info.width) if orientation in SWAPPED_ORIENTATIONS else (info.width, info.height)


def analyse(data: bytes) -> LabResult:
    """Validate, detect and classify every face; FrameRejected (message safe to show) when unusable."""
    from emotion.tasks import classifier

    info = validate(data)
    model = classifier()
    started = time.perf_counter()
    try:
        faces = model.analyze_bytes(data)
    except ValueError as exc:  # ImageDecodeError: validated, yet the full decode failed
        raise FrameRejected("The image could not be decoded (corrupt or truncated).", "undecodable") from exc
    milliseconds = (time.perf_counter() - started) * 1000
    width, height = _displayed_size(data, info)
    return LabResult(
        width=width,
        height=height,
        content_type=info.content_type,
        data_uri=f"data:{info.content_type};base64,{base64.b64encode(data).decode('ascii')}",
        faces=tuple(
            Face(
                number=i,
                x=face.box[0],
                y=face.box[1],
                width=face.box[2],
                height=face.box[3],
                label=face.label,
                confidence=face.confidence,
                bars=tuple(
                    Bar(name, p, COLOURS.get(name, "#777"), round(p * BAR_WIDTH, 1), name == face.label)
                    for name, p in face.probabilities.items()
                ),
            )
            for i, face in enumerate(faces, start=1)
        ),
        model_version=model.model_version,
        detector=detector_version(model.detector.name),
        milliseconds=milliseconds,
        tta=model.tta,
    )
