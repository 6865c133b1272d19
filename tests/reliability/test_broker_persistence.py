"""No accepted frame is lost when the broker is killed: Redis with production's flags
(docker-compose.yml) in a memory-backed folder, as production's tmpfs volume, SIGKILLed with a
backlog of real sealed frame tasks, comes back with every one of them."""

import base64
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from emotion import freshness, sealing, tasks
from moodshop.celery import app
from tests.reliability.services import PrivateRedis

pytestmark = pytest.mark.services


@pytest.fixture
def memory_folder():
    folder = Path("/dev/shm") / f"moodshop-redis-test-{uuid.uuid4().hex[:8]}"
    if not Path("/dev/shm").is_dir():
        pytest.skip("needs /dev/shm")
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    if folder.exists():
        folder.rmdir()


def test_a_killed_redis_keeps_every_queued_frame(memory_folder, face_jpeg):
    server = PrivateRedis(memory_folder)
    server.start()
    try:
        key = sealing.new_key()
        with app.connection_for_write(server.url) as connection:
            for seq in range(50):
                sealed = base64.b64encode(sealing.seal_frame(key, face_jpeg, 1, seq)).decode()
                tasks.classify_frame.apply_async(
                    kwargs={
                        "view_pk": 1,
                        "sequence": seq,
                        "captured_at": datetime.now(UTC).isoformat(),
                        "consent_pk": 1,
                        "sealed_frame": sealed,
                        "queued_at": time.time(),
                    },
                    connection=connection,
                )
        client = redis.Redis.from_url(server.url)
        assert client.llen(freshness.QUEUE) == 50
        server.kill()
        server.start()
        assert client.llen(freshness.QUEUE) == 50, "accepted frames were lost with the broker"
    finally:
        server.stop()
