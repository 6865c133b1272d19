"""Receipts (emotion.receipts): every frame answered 202 gets an outcome, even one the broker lost."""

import base64
import time
import uuid

import pytest
from django.db.models import Sum
from django.utils import timezone

from emotion import freshness, receipts, sealing, services, tasks
from emotion.models import DroppedFrames, EmotionObservation, Outcome
from shop.services import Shopper, record_view

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def broker():
    client = freshness.broker_redis()
    client.delete(receipts.KEY)
    yield client
    client.delete(receipts.KEY)


@pytest.fixture
def accepted(product, face_jpeg, broker):
    """A consenting shopper's frame, accepted: its receipt issued, its task's kwargs."""
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    view = record_view(shopper, product)
    target = services.frame_view(shopper, view.view_id, product.pk)
    captured = timezone.now()
    receipts.issue(target.view_pk, 0, target.consent_pk, target.key, captured, time.time())
    sealed = sealing.seal_frame(target.key, face_jpeg, target.view_pk, 0)
    kwargs = {
        "view_pk": target.view_pk,
        "sequence": 0,
        "captured_at": captured.isoformat(),
        "consent_pk": target.consent_pk,
        "sealed_frame": base64.b64encode(sealed).decode(),
    }
    return shopper, kwargs


def dropped(outcome: Outcome) -> int:
    return DroppedFrames.objects.filter(outcome=outcome).aggregate(n=Sum("frames"))["n"] or 0


def test_the_api_issues_a_receipt_before_queueing_and_withdraws_it_on_a_503(
    shopper, product, face_jpeg, broker, monkeypatch
):
    view_id = shopper.open(product)
    shopper.consent()
    monkeypatch.setattr(freshness, "queue_depth", lambda: 0)
    freshness.forget_backlog()
    published = []
    monkeypatch.setattr(tasks, "_publish_frame", lambda *args: published.append(broker.hlen(receipts.KEY)))
    assert shopper.post_frame(product, view_id, face_jpeg, seq=1).status_code == 202
    assert published == [1] and receipts.open_count() == 1  # written before the frame was queued

    def broker_down(*args):
        raise OSError("connection refused")

    monkeypatch.setattr(tasks, "_publish_frame", broker_down)
    assert shopper.post_frame(product, view_id, face_jpeg, seq=2).status_code == 503
    assert receipts.open_count() == 1  # the refused frame promised nothing


def test_the_worker_settles_the_receipt_once_the_outcome_is_written(accepted):
    _shopper, kwargs = accepted
    tasks.classify_frame.run(**kwargs)
    assert EmotionObservation.objects.get().outcome == Outcome.STORED
    assert receipts.open_count() == 0


def test_a_frame_the_broker_lost_becomes_a_stale_gap(accepted, monkeypatch):
    _shopper, kwargs = accepted
    assert tasks.settle_lost_frames.run() == 0  # not overdue yet: a redelivery may still come
    monkeypatch.setattr(receipts, "LOST_AFTER_SECONDS", 0.0)
    assert tasks.settle_lost_frames.run() == 1
    gap = EmotionObservation.objects.get()
    assert (gap.sequence, gap.outcome, gap.label) == (0, Outcome.STALE, "")
    assert receipts.open_count() == 0
    tasks.classify_frame.run(**kwargs)  # a redelivery after all: still one outcome for the frame
    assert EmotionObservation.objects.count() == 1


def test_a_lost_frame_of_an_erased_or_withdrawn_shopper_is_only_counted(accepted, monkeypatch, product, broker):
    shopper, _kwargs = accepted
    monkeypatch.setattr(receipts, "LOST_AFTER_SECONDS", 0.0)
    services.erase_emotion_data(shopper)  # consent kept, its key changed
    tasks.settle_lost_frames.run()
    assert not EmotionObservation.objects.exists() and dropped(Outcome.ERASED) == 1
    target = services.frame_view(shopper, record_view(shopper, product).view_id, product.pk)
    receipts.issue(target.view_pk, 0, target.consent_pk, target.key, timezone.now(), 0.0)
    services.withdraw_consent(shopper)
    tasks.settle_lost_frames.run()
    assert not EmotionObservation.objects.exists() and dropped(Outcome.WITHDRAWN) == 1
    assert receipts.open_count() == 0


def test_a_dropped_frame_is_counted_once_whoever_settles_it(accepted, monkeypatch):
    """A redelivery, or the sweep racing a late delivery, finds the receipt settled: no second count."""
    shopper, kwargs = accepted
    services.erase_emotion_data(shopper)
    tasks.classify_frame.run(**kwargs)
    tasks.classify_frame.run(**kwargs)  # redelivered
    monkeypatch.setattr(receipts, "LOST_AFTER_SECONDS", 0.0)
    tasks.settle_lost_frames.run()
    assert dropped(Outcome.ERASED) == 1 and not EmotionObservation.objects.exists()
