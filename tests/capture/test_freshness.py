"""Fresh by design: the API admits a frame only if the backlog can classify it within the
freshness budget, tells the page when to send the next, and the worker drops stale frames as
counted gaps (outcome "stale")."""

import base64
import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from emotion import freshness, sealing, tasks
from emotion.api import AddressRateThrottle, ShopperRateThrottle
from emotion.freshness import Backlog, admit
from emotion.models import Consent, EmotionObservation, Outcome
from shop.models import Interaction

pytestmark = pytest.mark.django_db


def test_an_empty_queue_admits_at_the_capture_rate():
    assert admit(Backlog(0, 0.0), budget=2.0, fps=2.0) == freshness.Admission(True, 500)


def test_the_page_keeps_its_rate_while_the_workers_keep_up():
    assert admit(Backlog(4, 10.0), budget=2.0, fps=2.0).next_frame_ms == 500  # 0.4 s of a 2 s budget


def test_the_page_slows_down_as_the_queue_fills():
    half = admit(Backlog(10, 10.0), budget=2.0, fps=2.0)  # 1 s of a 2 s budget
    full = admit(Backlog(20, 10.0), budget=2.0, fps=2.0)
    assert half.accepted and full.accepted
    assert 500 < half.next_frame_ms < full.next_frame_ms == 5000


def test_a_burst_after_a_quiet_spell_passes_while_the_throughput_is_unmeasured():
    """One frame stored in the 5 s window reads as 0.2 frames/s: no ground to refuse 7 waiting ones."""
    assert admit(Backlog(7, 0.2), budget=2.0, fps=2.0) == freshness.Admission(True, 500)
    assert not admit(Backlog(11, 0.2), budget=2.0, fps=2.0).accepted


def test_a_backlog_beyond_the_budget_is_a_429_with_retry_after():
    refused = admit(Backlog(50, 10.0), budget=2.0, fps=2.0)  # 5 s behind
    assert (refused.accepted, refused.status, refused.code, refused.retry_after) == (False, 429, "backlog", 3)


def test_a_queue_no_worker_takes_is_a_503_but_the_first_frames_after_a_quiet_spell_pass():
    assert admit(Backlog(5, 0.0), budget=2.0, fps=2.0).accepted
    refused = admit(Backlog(11, 0.0), budget=2.0, fps=2.0)
    assert (refused.accepted, refused.status, refused.code) == (False, 503, "no_worker")


def test_the_api_refuses_with_json_and_retry_after(shopper, product, face_jpeg, enqueued, monkeypatch):
    view_id = shopper.open(product)
    shopper.consent()
    monkeypatch.setattr(freshness, "current_backlog", lambda: Backlog(100, 10.0))
    response = shopper.post_frame(product, view_id, face_jpeg)
    assert response.status_code == 429
    assert response.json()["code"] == "backlog" and "behind" in response.json()["error"]
    assert response["Retry-After"] == "8"
    assert enqueued == []


def test_the_api_tells_the_page_when_to_send_the_next_frame(shopper, product, face_jpeg, enqueued, monkeypatch):
    view_id = shopper.open(product)
    shopper.consent()
    monkeypatch.setattr(freshness, "current_backlog", lambda: Backlog(15, 10.0))
    response = shopper.post_frame(product, view_id, face_jpeg)
    assert response.status_code == 202 and response.json()["next_frame_ms"] == 3500  # 1.5 s of 2: 7 times slower
    assert len(enqueued) == 1


def test_throughput_is_measured_from_the_frames_classified(product):
    view = Interaction.objects.create(kind="view", product=product, shopper_id="6f1c0c6e-5d1b-4f55-9a0e-3f1b6c1f0a11")
    for seq in range(10):
        outcome = Outcome.STALE if seq >= 8 else Outcome.STORED
        EmotionObservation.objects.create(
            view=view, sequence=seq, product=product, shopper_id=view.shopper_id, captured_at=timezone.now(),
            model_version="m", outcome=outcome,
        )  # fmt: skip
    assert freshness.measured_throughput(window=4.0) == 2.0  # stale drops are no measure of capacity


def test_the_worker_stores_a_stale_frame_as_a_gap_without_decoding_it(shopper, product, face_jpeg, monkeypatch):
    view_id = shopper.open(product)
    shopper.consent()
    view = Interaction.objects.get(view_id=view_id)
    consent = Consent.objects.get(shopper_id=view.shopper_id, withdrawn_at=None)
    monkeypatch.setattr(tasks, "classifier", lambda: pytest.fail("a stale frame must not be classified"))
    tasks.classify_frame.run(
        view_pk=view.pk,
        sequence=3,
        captured_at=timezone.now().isoformat(),
        consent_pk=consent.pk,
        sealed_frame=base64.b64encode(sealing.seal_frame(consent.frame_key, face_jpeg, view.pk, 3)).decode(),
        queued_at=time.time() - settings.EMOTION_FRESHNESS_SECONDS - 0.5,
    )
    observation = EmotionObservation.objects.get(view=view, sequence=3)
    assert observation.outcome == Outcome.STALE and observation.label == ""


@pytest.mark.services
def test_with_no_worker_running_the_queue_fills_only_to_the_idle_allowance(
    shopper, product, face_jpeg, monkeypatch, settings
):
    """No worker consumes the real Redis queue: after the first frames, 503 with a reason."""
    monkeypatch.setattr(ShopperRateThrottle, "THROTTLE_RATES", {"frames": "1000/second"})
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"frames_address": "1000/second"})
    monkeypatch.setattr(freshness, "CACHE_SECONDS", 0.0)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(freshness.QUEUE)
    try:
        view_id = shopper.open(product)
        shopper.consent()
        statuses = [shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code for seq in range(16)]
        allowance = int(freshness.IDLE_ALLOWANCE_PER_SECOND * settings.EMOTION_FRESHNESS_SECONDS)
        assert statuses == [202] * (allowance + 1) + [503] * (15 - allowance)
        assert broker.llen(freshness.QUEUE) == allowance + 1
        assert shopper.post_frame(product, view_id, face_jpeg, seq=99).json()["code"] == "no_worker"
    finally:
        broker.delete(freshness.QUEUE)
