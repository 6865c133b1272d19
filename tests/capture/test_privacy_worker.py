"""Erasure and withdrawal against real processes: API → Redis → worker → PostgreSQL.

The erasure test runs the journey in which data used to survive: frames captured
anonymously, then sign-up, logout, login in another browser, then both erasures. The
withdrawal test stops the worker, streams frames, withdraws, and reads the broker.
"""

import base64
import json
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from django.db.models import Q, Sum

from emotion import sealing
from emotion.models import (
    AffectSummary,
    Consent,
    DroppedFrames,
    EmotionObservation,
    Outcome,
    ProductEmotionDaily,
    ReactionEvent,
)
from shop.models import Interaction
from tests.capture.conftest import BODY, Shopper, readable_frame
from tests.capture.test_worker_pipeline import wait_for
from tests.workers import REDIS_URL, celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PERSONAL = (EmotionObservation, ReactionEvent, AffectSummary, Consent)


def test_erasure_covers_every_identity_of_the_person(tmp_path, product, face_jpeg, django_user_model):
    anonymous = Shopper()
    view_id = anonymous.open(product)
    assert anonymous.consent().status_code == 201
    anonymous_id = Interaction.objects.get(view_id=view_id).shopper_id
    started = time.time()
    with celery_worker(tmp_path, queues="emotion"):
        for seq in range(8):
            assert anonymous.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
            time.sleep(0.25)
        wait_for(lambda: EmotionObservation.objects.filter(shopper_id=anonymous_id).count() == 8)
        assert anonymous.end_view(view_id, time.time() - started).status_code == 200
        wait_for(lambda: ReactionEvent.objects.filter(shopper_id=anonymous_id, frames=8).exists())
    assert AffectSummary.objects.filter(shopper_id=anonymous_id).exists()
    assert ProductEmotionDaily.objects.filter(product=product).exists()

    # Sign up in the same browser (the anonymous history joins the account), log out,
    # log in in another browser, and erase from there.
    signup = anonymous.client.post(
        "/accounts/signup/",
        {"username": "ada", "email": "", "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"},
        HTTP_X_CSRFTOKEN=anonymous.csrf,
    )
    assert signup.status_code == 302, signup.content
    user = django_user_model.objects.get(username="ada")
    assert anonymous.client.post("/accounts/logout/", HTTP_X_CSRFTOKEN=anonymous.csrf).status_code == 302
    other = Shopper()
    other.client.get("/accounts/login/")
    login = other.client.post(
        "/accounts/login/", {"username": "ada", "password": "a-long-passphrase-1"}, HTTP_X_CSRFTOKEN=other.csrf
    )
    assert login.status_code == 302, login.content
    other.open(product)
    current_id = Interaction.objects.filter(user=user).exclude(shopper_id=anonymous_id).get().shopper_id

    data = other.client.delete("/api/v1/emotion-data/", HTTP_X_CSRFTOKEN=other.csrf)
    assert data.status_code == 200
    assert data.json() == {"observations": 8, "reactions": 1, "summaries": 1, "consents": 0}
    withdrawn = other.client.delete("/api/v1/consent/", HTTP_X_CSRFTOKEN=other.csrf)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["erased"] == {"observations": 0, "reactions": 0, "summaries": 0, "consents": 1}

    someone = Q(shopper_id__in=[anonymous_id, current_id]) | Q(user=user)
    for model in PERSONAL:
        assert not model.objects.filter(someone).exists(), model.__name__
    # The rollups held only this person's reactions: nothing of them is left there either.
    assert not ProductEmotionDaily.objects.filter(product=product).exists()


def broker_bytes(client: redis.Redis) -> bytes:
    """Every value in the test Redis database, whatever its type."""
    chunks = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key) or b"")
        elif kind == b"list":
            chunks.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            chunks.extend(client.hvals(key))
        elif kind == b"zset":
            chunks.extend(client.zrange(key, 0, -1))
        elif kind == b"set":
            chunks.extend(client.smembers(key))
    return b"\n".join(chunks)


def test_readable_frame_finds_a_frame_queued_in_clear(face_jpeg):
    """The check above would see a frame queued as the old code did (base64 in the task body)."""
    task = json.dumps([[], {"frame_b64": base64.b64encode(face_jpeg).decode()}, {}]).encode()
    message = json.dumps({"body": base64.b64encode(task).decode(), "headers": {}}).encode()
    assert readable_frame(message, face_jpeg)
    assert not readable_frame(message.replace(b"body", b"other"), face_jpeg)


def queued_frames(client: redis.Redis) -> list[dict]:
    """The kwargs of the frame tasks waiting in the emotion queue."""
    frames = []
    for raw in client.lrange("emotion", 0, -1):
        message = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        frames.append(kwargs)
    return frames


def test_withdrawal_makes_queued_frames_unreadable_and_the_worker_drops_them_unopened(tmp_path, product, face_jpeg):
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    shopper = Shopper()
    view_id = shopper.open(product)
    assert shopper.consent().status_code == 201
    frames = 5
    for seq in range(frames):  # no worker runs: the frames wait in the broker
        assert shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code == 202
    queued = queued_frames(broker)
    assert len(queued) == frames
    assert BODY.findall(broker_bytes(broker)), "the test must see the messages' bodies"
    assert not readable_frame(broker_bytes(broker), face_jpeg), "a frame is readable in the broker"
    # What is queued is the frame, sealed with the consent's key (which lives in the database).
    key = bytes(Consent.objects.get().frame_key)
    first = queued[0]
    opened = sealing.open_frame(key, base64.b64decode(first["sealed_frame"]), first["view_pk"], first["sequence"])
    assert opened == face_jpeg

    assert shopper.withdraw().status_code == 200
    assert not Consent.objects.exists()  # the key went with the consent, in the erasure transaction
    assert key not in broker_bytes(broker)
    assert not readable_frame(broker_bytes(broker), face_jpeg)

    with celery_worker(tmp_path, queues="emotion", fresh_broker=False):
        wait_for(lambda: broker.llen("emotion") == 0 and not broker.hlen("unacked"))
        wait_for(lambda: (DroppedFrames.objects.aggregate(n=Sum("frames"))["n"] or 0) == frames, timeout=30)
    assert DroppedFrames.objects.get().outcome == Outcome.WITHDRAWN
    assert not EmotionObservation.objects.exists()
    log = (tmp_path / "worker.log").read_text()
    assert "unreadable" not in log  # dropped for the consent, before any attempt to open them


def test_with_an_append_only_broker_the_file_keeps_only_unreadable_frames(tmp_path, product, face_jpeg):
    """Redis with the persistence the real-time issue adds (AOF, fsync always): stop nothing,
    just read the file. Deleted messages stay in an AOF until it is rewritten; they are sealed."""
    from tests.reliability.services import Browser, web_server
    from tests.servers import free_port, redis_server_command

    shm = Path("/dev/shm")
    folder = (shm if shm.is_dir() else tmp_path) / f"moodshop-aof-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    port = free_port()
    server = subprocess.Popen(
        redis_server_command(port, folder, "--appendonly", "yes", "--appendfsync", "always"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis.Redis.from_url(url).ping():
                    break
            except redis.RedisError:
                assert time.monotonic() < deadline, "private redis did not start"
                time.sleep(0.1)
        browser = Browser.consenting(product)
        with web_server(url, tmp_path / "web.log") as base:
            for seq in range(4):
                assert browser.post_frame(base, face_jpeg, seq) == 202
            request = urllib.request.Request(
                f"{base}/api/v1/consent/",
                method="DELETE",
                headers={
                    "X-CSRFToken": browser.csrf,
                    "Cookie": f"sessionid={browser.session_key}; csrftoken={browser.csrf}",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["erased"]["consents"] == 1
        assert redis.Redis.from_url(url).llen("emotion") == 4
        files = b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())
        assert len(BODY.findall(files)) >= 4, "the append-only file must hold the queued messages"
        assert not readable_frame(files, face_jpeg)
        assert not Consent.objects.exists()  # nor is their key anywhere any more
        with celery_worker(tmp_path / "worker", queues="emotion", fresh_broker=False, redis_url=url):
            wait_for(lambda: redis.Redis.from_url(url).llen("emotion") == 0)
            wait_for(lambda: (DroppedFrames.objects.aggregate(n=Sum("frames"))["n"] or 0) == 4, timeout=30)
        assert not EmotionObservation.objects.exists()
    finally:
        server.terminate()
        server.wait(timeout=20)
        subprocess.run(["rm", "-rf", str(folder)], check=False)
