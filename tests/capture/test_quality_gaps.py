"""Faces too blurred or too small to trust are "low quality" gaps, not confident emotions.

The real detector and classifier on generated frames of scikit-image's astronaut; the
threshold is the model card's (emotion.ml.release chooses it on the validation split).
"""

import io
import json
import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image
from skimage import data

from emotion import services, tasks
from emotion.ml.inference import EmotionClassifier
from emotion.models import EmotionObservation, Outcome
from shop.services import Shopper, record_view

HEAD = data.astronaut()[0:320, 80:400]


def frame(head: np.ndarray, size: int = 320, blur: float = 0.0) -> bytes:
    """A 640x480 grey frame with the head pasted at ``size`` px, optionally defocused.

    The worker decodes it at 320 px, where a blur of 4 px leaves the face findable but its
    48x48 crop a quarter as sharp as the quality score asks.
    """
    canvas = np.full((480, 640, 3), 120, np.uint8)
    face = np.asarray(Image.fromarray(head).resize((size, size)))
    top, left = (480 - size) // 2, (640 - size) // 2
    canvas[top : top + size, left : left + size] = face
    if blur:
        canvas = cv2.GaussianBlur(canvas, (0, 0), blur)
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model_with_threshold(tmp_path_factory: pytest.TempPathFactory) -> EmotionClassifier:
    """The shipped model, its card given a quality threshold of 0.5."""
    directory = tmp_path_factory.mktemp("model")
    shipped = Path(settings.EMOTION_MODEL_DIR)
    shutil.copy(shipped / "emotion.tflite", directory)
    card = json.loads((shipped / "model_card.json").read_text())
    card["quality"] = {**card.get("quality", {}), "threshold": 0.5}
    (directory / "model_card.json").write_text(json.dumps(card))
    return EmotionClassifier(directory, tta=False, detector=settings.EMOTION_FACE_DETECTOR)


def test_a_sharp_face_is_classified_with_its_quality(model_with_threshold: EmotionClassifier) -> None:
    result = tasks.classify_single_face(model_with_threshold, frame(HEAD))
    assert result.status == Outcome.STORED and result.label is not None
    assert result.quality is not None and result.quality >= 0.5


def test_a_defocused_face_is_a_low_quality_gap(model_with_threshold: EmotionClassifier) -> None:
    blurred = frame(HEAD, blur=4.0)
    assert model_with_threshold.analyze_bytes(blurred), (
        "the detector must still find the face for this to mean anything"
    )
    result = tasks.classify_single_face(model_with_threshold, blurred)
    assert result.status == Outcome.LOW_QUALITY and result.label is None and result.confidence is None
    assert result.quality is not None and result.quality < 0.5


@pytest.mark.django_db
def test_quality_is_stored_and_low_quality_frames_make_no_reaction(model_with_threshold, product) -> None:
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    view = record_view(shopper, product)
    result = tasks.classify_single_face(model_with_threshold, frame(HEAD, blur=4.0))
    for seq in range(4):
        assert services.record_observation(view, seq, timezone.now(), result, model_with_threshold.model_version)
    rows = list(EmotionObservation.objects.values_list("outcome", "label", "quality"))
    assert {(o, label) for o, label, _ in rows} == {(Outcome.LOW_QUALITY, "")}
    assert all(q is not None and q < 0.5 for _, _, q in rows)
    assert services.refresh_view_reactions(view) == []
