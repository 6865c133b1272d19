"""Start a real Celery worker process against the real Redis broker and the test database."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_database_url() -> str:
    """The URL of the database pytest-django created, so the worker writes where the test reads."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "worker tests share the database with a second process: run them on PostgreSQL "
            "(scripts/test.sh sets DATABASE_URL)"
        )
    s = connection.settings_dict
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); scripts/test.sh starts it.")


@contextmanager
def celery_worker(
    tmp_path: Path, queues: str = "celery", extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Celery, subprocess.Popen]]:
    """Yield (client app, worker process) once the worker answers a ping; stop it afterwards."""
    require_redis()
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra_env or {}),
    }
    log = (tmp_path / "worker.log").open("w")
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "moodshop",
            "worker",
            "--pool=solo",
            "-Q",
            queues,
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = Celery("test-client", broker=REDIS_URL, backend=REDIS_URL)
    try:
        deadline = time.monotonic() + 90
        while not client.control.ping(timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{(tmp_path / 'worker.log').read_text()}")
        yield client, worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        client.close()
