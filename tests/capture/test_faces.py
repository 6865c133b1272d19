"""Only the consenting shopper's face is classified: the real detector on generated frames.

The rule (emotion.tasks.classify_single_face): when the second-largest face has at least
half the largest face's box area, the frame is a gap with outcome "several faces".
"""

import io
import uuid

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image
from skimage import data

from emotion import services, tasks
from emotion.models import EmotionObservation, Outcome
from shop.services import Shopper, record_view

FACE = data.astronaut()[0:320, 80:400]  # the astronaut's head and shoulders


def jpeg(array: np.ndarray, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).resize(size).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model():
    from emotion.ml.inference import EmotionClassifier

    return EmotionClassifier(settings.EMOTION_MODEL_DIR, tta=False, detector=settings.EMOTION_FACE_DETECTOR)


def test_two_faces_of_comparable_size_are_a_gap(model):
    two = jpeg(np.concatenate([FACE, FACE], axis=1), (640, 320))
    assert len(model.analyze_bytes(two)) == 2, "the detector must see both faces for this test to mean anything"
    result = tasks.classify_single_face(model, two)
    assert result.label is None and result.status == Outcome.SEVERAL_FACES


def test_a_much_smaller_second_face_is_ignored(model):
    """A passer-by far behind: detected, but with under half the shopper's face area."""
    head = data.astronaut()[0:260, 120:380]
    near = np.asarray(Image.fromarray(head).resize((400, 400)))
    far = np.full((400, 240, 3), 128, np.uint8)
    far[160:, :] = np.asarray(Image.fromarray(head).resize((240, 240)))
    frame = jpeg(np.concatenate([near, far], axis=1), (640, 400))
    assert len(model.analyze_bytes(frame)) == 2, "the detector must see the second face for this test to mean anything"
    result = tasks.classify_single_face(model, frame)
    assert result.label is not None and result.status == Outcome.STORED


def test_one_face_is_classified(model, face_jpeg):
    result = tasks.classify_single_face(model, face_jpeg)
    assert result.label is not None and result.status == Outcome.STORED


@pytest.mark.django_db
def test_a_several_faces_gap_is_stored_as_such_and_never_becomes_a_reaction(model, product):
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    view = record_view(shopper, product)
    result = tasks.classify_single_face(model, jpeg(np.concatenate([FACE, FACE], axis=1), (640, 320)))
    for seq in range(4):
        assert services.record_observation(view, seq, timezone.now(), result, model.model_version)
    assert set(EmotionObservation.objects.values_list("outcome", "label")) == {(Outcome.SEVERAL_FACES, "")}
    assert services.refresh_view_reactions(view) == []


def test_a_16_bit_png_is_normalised_not_clipped(model):
    """A 16-bit grayscale PNG spans 0..65535: clipped at 255 it is mostly white and shows no face."""
    gray = np.asarray(Image.fromarray(data.astronaut()).convert("L").resize((320, 240)), dtype=np.uint16) * 257
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "PNG")  # mode I;16
    frame = buffer.getvalue()
    assert Image.open(io.BytesIO(frame)).mode.startswith("I;16"), "the test needs a 16-bit PNG"
    image = tasks.normalised_high_depth(frame)
    assert image.dtype == np.uint8 and image.shape == (240, 320, 3)
    assert abs(float(image[..., 0].mean()) - float(gray.mean()) / 257) < 1
    result = tasks.classify_single_face(model, frame)
    assert result.label is not None and result.status == Outcome.STORED
