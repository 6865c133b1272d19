"""On-device mode (``EMOTION_INFERENCE=browser``): what the product page needs to classify faces itself.

In this mode the page runs the worker's own two model files (BlazeFace and the emotion model)
through LiteRT.js, vendored under ``static/vendor/litertjs/``, and posts only labels to
``POST /api/v1/observations/``. This module serves the model files (from where the worker loads
them: no copy in ``static/``), says which parameters the page must apply (the model card's
temperature and quality threshold, the several-faces rule), and marks the one page that loads
the runtime so that only its Content-Security-Policy allows WebAssembly.
"""

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .ml.detect import BLAZEFACE_FILE, MIN_SCORE, NMS_IOU
from .ml.inference import model_version_of
from .ml.labels import CLASSES
from .ml.on_device import fixed_batch_model

BROWSER = "browser"
# 'wasm-unsafe-eval' lets a page compile WebAssembly and nothing else (no JavaScript eval).
WASM_UNSAFE_EVAL = "'wasm-unsafe-eval'"


def enabled() -> bool:
    """Whether this shop analyses faces on the device (``EMOTION_INFERENCE=browser``)."""
    return settings.EMOTION_INFERENCE == BROWSER


@dataclass(frozen=True)
class ModelFile:
    """One model file as the page downloads it: its bytes, gzipped once (about 10 % smaller: the
    weights are int8), and the validator its cache revalidates with."""

    content: bytes
    gzipped: bytes
    etag: str


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, fixed_batch: bool) -> ModelFile:
    data = Path(path).read_bytes()
    if fixed_batch:
        data = fixed_batch_model(data)
    return ModelFile(data, gzip.compress(data, mtime=0), hashlib.sha256(data).hexdigest()[:32])


def _emotion_model() -> Path:
    return Path(settings.EMOTION_MODEL_DIR) / "emotion.tflite"


MODEL_FILES: dict[str, tuple[Callable[[], Path], bool]] = {
    # name in the URL: (where the worker loads it, whether the batch dimension is made static)
    "emotion.tflite": (_emotion_model, True),
    "face_detector.tflite": (lambda: BLAZEFACE_FILE, False),
}


def model_file(name: str) -> ModelFile | None:
    """The served bytes of one model file (re-read when the file changes); None for an unknown name."""
    if name not in MODEL_FILES:
        return None
    locate, fixed_batch = MODEL_FILES[name]
    path = locate()
    return _load(str(path), path.stat().st_mtime_ns, fixed_batch)


@dataclass(frozen=True)
class PageParameters:
    """Everything the page's analysis must match the worker on, from the served model's card and settings."""

    model_version: str
    classes: tuple[str, ...]
    temperature: float
    quality_threshold: float | None
    several_faces_ratio: float
    min_score: float
    nms_iou: float


@lru_cache(maxsize=4)
def _card(model: str, mtime_ns: int, card_mtime_ns: int) -> tuple[str, float, float | None]:
    """The served model's version, temperature and quality threshold, re-read when a file changes."""
    card_path = Path(model).with_name("model_card.json")
    card = json.loads(card_path.read_text()) if card_mtime_ns else {}
    return (
        model_version_of(model),
        card.get("calibration", {}).get("temperature", 1.0),
        card.get("quality", {}).get("threshold"),
    )


def page_parameters() -> PageParameters:
    """Read for every page and every observation, so the card is parsed once per version, not per request."""
    model = _emotion_model()
    card_path = model.with_name("model_card.json")
    card_mtime = card_path.stat().st_mtime_ns if card_path.is_file() else 0
    version, temperature, threshold = _card(str(model), model.stat().st_mtime_ns, card_mtime)
    return PageParameters(
        model_version=version,
        classes=CLASSES,
        temperature=temperature,
        quality_threshold=threshold,
        several_faces_ratio=settings.EMOTION_SEVERAL_FACES_AREA_RATIO,
        min_score=MIN_SCORE,
        nms_iou=NMS_IOU,
    )


def page_parameters_json() -> str:
    """The parameters as the page reads them (its capture root's ``data-parameters``)."""
    return json.dumps(asdict(page_parameters()))


def mark_runtime_page(request: HttpRequest) -> None:
    """The page being rendered loads the in-browser runtime: its response may compile WebAssembly."""
    request._emotion_runtime_page = True


class RuntimePageCsp:
    """Adds 'wasm-unsafe-eval' to ``script-src`` of the responses of pages marked by ``mark_runtime_page``.

    Listed after django-csp's middleware, so it runs first on the way out and django-csp
    builds the header with the addition (its ``_csp_update``, what ``@csp_update`` sets).
    Every other page keeps the strict site-wide policy.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_emotion_runtime_page", False):
            update = dict(getattr(response, "_csp_update", None) or {})
            update["script-src"] = [*update.get("script-src", []), WASM_UNSAFE_EVAL]
            response._csp_update = update
        return response
