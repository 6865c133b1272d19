"""Faults against real processes: Redis restarted mid-stream, PostgreSQL briefly gone, a
corrupt model file. The worker kill (SIGKILL mid-task) is in tests/capture/test_worker_pipeline.py."""

import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection

from emotion import freshness, receipts, tasks
from emotion.models import EmotionObservation, Outcome
from tests.capture.conftest import Shopper
from tests.reliability.services import Browser, TcpProxy, private_redis, web_server
from tests.workers import celery_worker, shared_database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def stored(view_id: str) -> set[int]:
    return set(EmotionObservation.objects.filter(view__view_id=view_id).values_list("sequence", flat=True))


def test_redis_restart_while_frames_are_in_flight(tmp_path, product, face_jpeg, monkeypatch):
    """Frames answered 202 before, during or after a Redis restart all get an outcome; the
    others get 503 with a reason; nothing gets a 500.

    A worker reconnecting to the restarted Redis may take a frame (BRPOP) and fail to record
    it (its other connection is still the dead one): that frame's receipt stays open and the
    lost-frame sweep, which beat runs in production, gives it a stale gap. Run here once the
    stream has drained, on the test's own Redis.
    """
    browser = Browser.consenting(product)
    statuses: dict[int, int] = {}
    with (
        private_redis(tmp_path / "redis") as broker,
        web_server(broker.url, tmp_path / "web.log") as base,
        celery_worker(tmp_path / "worker", queues="emotion", pool="prefork", redis_url=broker.url),
    ):

        def shopper() -> None:
            for seq in range(40):  # 4 frames/s for 10 s (under the 5/s rate limit)
                statuses[seq] = browser.post_frame(base, face_jpeg, seq)
                time.sleep(0.25)

        sending = threading.Thread(target=shopper)
        sending.start()
        time.sleep(3)
        broker.stop()  # graceful restart: the queue is snapshotted to memory and reloaded
        time.sleep(1.5)
        broker.start()
        sending.join()
        accepted = {seq for seq, code in statuses.items() if code == 202}
        wait_for(lambda: accepted <= stored(browser.view_id), 30)
        classified = stored(browser.view_id)
        monkeypatch.setattr(freshness, "broker_redis", lambda: redis.Redis.from_url(broker.url))
        monkeypatch.setattr(receipts, "LOST_AFTER_SECONDS", 20.0)  # the stream ended 30 s ago
        tasks.settle_lost_frames.run()
        assert accepted <= stored(browser.view_id), f"lost {sorted(accepted - stored(browser.view_id))}"
        settled = EmotionObservation.objects.filter(view__view_id=browser.view_id).exclude(sequence__in=classified)
        assert set(settled.values_list("outcome", flat=True)) <= {Outcome.STALE}
        assert receipts.open_count() == 0
    assert set(statuses.values()) <= {202, 503}, statuses
    assert len(accepted) >= 30  # the outage costs a few frames, not the stream


def test_postgres_unavailable_briefly(tmp_path, product, face_jpeg):
    """The worker's database goes away for a few seconds: it retries with backoff, loses nothing."""
    proxy = TcpProxy((connection.settings_dict["PORT"] and int(connection.settings_dict["PORT"])) or 5432)
    parts = urlsplit(shared_database_url())
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}"))
    shopper = Shopper()
    view_id = shopper.open(product)
    shopper.consent()
    try:
        with celery_worker(tmp_path, queues="emotion", extra_env={"DATABASE_URL": via_proxy}):
            for seq in range(3):
                assert shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
            assert wait_for(lambda: stored(view_id) == {0, 1, 2})
            proxy.cut()
            for seq in range(3, 6):
                time.sleep(0.3)
                assert shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
            time.sleep(4)
            assert stored(view_id) == {0, 1, 2}  # nothing could be written meanwhile
            proxy.restore()
            assert wait_for(lambda: stored(view_id) == set(range(6)), 120), f"stored {stored(view_id)}"
            log = (tmp_path / "worker.log").read_text()
    finally:
        proxy.close()
    assert "Retry" in log or "retry" in log


def test_corrupt_model_stops_the_worker_but_not_the_shop(tmp_path, product, face_jpeg, client):
    models = tmp_path / "model"
    models.mkdir()
    (models / "emotion.tflite").write_bytes(b"this is not a model" * 100)
    (models / "model_card.json").write_text('{"model_version": "corrupt"}')
    with celery_worker(
        tmp_path / "worker", queues="emotion", extra_env={"EMOTION_MODEL_DIR": str(models)}, wait_ready=False
    ) as (_client, worker):
        assert worker.wait(timeout=120) != 0
        log = (tmp_path / "worker" / "worker.log").read_text()
    assert "unusable" in log and str(models) in log
    # The shop keeps working without emotions: pages render and frames are still accepted.
    assert client.get(product.get_absolute_url()).status_code == 200
    shopper = Shopper()
    view_id = shopper.open(product)
    shopper.consent()
    assert shopper.post_frame(product, view_id, face_jpeg).status_code == 202
