"""The worker task checks consent before it opens or decodes a frame, and counts what it drops."""

import base64
import uuid

import pytest
from django.db.models import Sum
from django.utils import timezone

from emotion import sealing, services, tasks
from emotion.models import DroppedFrames, EmotionObservation, Outcome
from shop.models import Interaction
from shop.services import Shopper, record_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(product, face_jpeg):
    """A consenting shopper's frame as the API queues it: the task's kwargs."""
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    view = record_view(shopper, product)
    target = services.frame_view(shopper, view.view_id, product.pk)
    sealed = sealing.seal_frame(target.key, face_jpeg, target.view_pk, 0)
    kwargs = {
        "view_pk": target.view_pk,
        "sequence": 0,
        "captured_at": timezone.now().isoformat(),
        "consent_pk": target.consent_pk,
        "sealed_frame": base64.b64encode(sealed).decode(),
    }
    return shopper, kwargs


def dropped() -> int:
    return DroppedFrames.objects.filter(outcome=Outcome.WITHDRAWN).aggregate(n=Sum("frames"))["n"] or 0


def test_a_withdrawn_shoppers_frame_is_dropped_before_it_is_opened_or_decoded(queued, monkeypatch):
    shopper, kwargs = queued
    services.withdraw_consent(shopper)

    def never(*args, **kwargs):
        raise AssertionError("the frame was opened or decoded")

    monkeypatch.setattr(tasks, "classifier", never)
    monkeypatch.setattr(sealing, "open_frame", never)
    tasks.classify_frame.run(**kwargs)
    assert dropped() == 1 and not EmotionObservation.objects.exists()


def test_a_withdrawal_while_the_frame_is_classified_drops_and_counts_it(queued, monkeypatch):
    shopper, kwargs = queued

    def withdraw_meanwhile(model, frame, shown=None):
        services.withdraw_consent(shopper)
        return services.Classification("happy", 0.9, {"happy": 0.9})

    monkeypatch.setattr(tasks, "classify_single_face", withdraw_meanwhile)
    tasks.classify_frame.run(**kwargs)
    assert dropped() == 1 and not EmotionObservation.objects.exists()


def test_a_consenting_shoppers_frame_is_opened_and_stored(queued):
    _shopper, kwargs = queued
    tasks.classify_frame.run(**kwargs)
    assert EmotionObservation.objects.get().outcome == Outcome.STORED
    assert dropped() == 0


def test_a_frame_sealed_for_another_view_is_not_opened(queued):
    _shopper, kwargs = queued
    tasks.classify_frame.run(**(kwargs | {"sequence": 1}))  # the sequence is bound into the seal
    assert not EmotionObservation.objects.exists()


def erased() -> int:
    return DroppedFrames.objects.filter(outcome=Outcome.ERASED).aggregate(n=Sum("frames"))["n"] or 0


def test_a_frame_queued_before_an_erasure_is_counted_not_stored_after_it(queued, face_jpeg):
    """Erasing keeps consent but changes its key: the queued frame no longer opens."""
    shopper, kwargs = queued
    services.erase_emotion_data(shopper)
    tasks.classify_frame.run(**kwargs)
    assert not EmotionObservation.objects.exists()
    assert erased() == 1 and dropped() == 0
    # A frame sealed after the erasure, with the new key, is stored as before.
    view = Interaction.objects.get(pk=kwargs["view_pk"])
    target = services.frame_view(shopper, view.view_id, view.product_id)
    sealed = sealing.seal_frame(target.key, face_jpeg, target.view_pk, 1)
    tasks.classify_frame.run(**(kwargs | {"sequence": 1, "sealed_frame": base64.b64encode(sealed).decode()}))
    assert list(EmotionObservation.objects.values_list("sequence", flat=True)) == [1]


def test_a_frame_whose_view_was_deleted_while_queued_is_counted(queued):
    _shopper, kwargs = queued
    Interaction.objects.filter(pk=kwargs["view_pk"]).delete()
    tasks.classify_frame.run(**kwargs)
    assert erased() == 1 and not EmotionObservation.objects.exists()


def test_an_erasure_while_the_frame_is_classified_drops_and_counts_it(queued, monkeypatch):
    """The erasure keeps consent and changes its key: the frame opened with the old key is not stored."""
    shopper, kwargs = queued

    def erase_meanwhile(model, frame, shown=None):
        services.erase_emotion_data(shopper)
        return services.Classification("happy", 0.9, {"happy": 0.9})

    monkeypatch.setattr(tasks, "classify_single_face", erase_meanwhile)
    tasks.classify_frame.run(**kwargs)
    assert not EmotionObservation.objects.exists()
    assert erased() == 1 and dropped() == 0


def test_a_frame_that_opens_but_does_not_decode_is_counted_unreadable(queued):
    _shopper, kwargs = queued
    target_key = services.frame_key(kwargs["consent_pk"])
    sealed = sealing.seal_frame(target_key, b"not an image at all", kwargs["view_pk"], 0)
    tasks.classify_frame.run(**(kwargs | {"sealed_frame": base64.b64encode(sealed).decode()}))
    assert not EmotionObservation.objects.exists()
    assert DroppedFrames.objects.get().outcome == Outcome.UNREADABLE
