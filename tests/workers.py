"""Start a real Celery worker process against the real Redis broker and the test database."""

import contextlib
import os
import signal
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


def shared_database_url() -> str:
    """The URL of the database pytest-django created, so the worker writes where the test reads."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "worker tests share the database with a second process: run them on PostgreSQL "
            "(scripts/test.sh sets DATABASE_URL)"
        )
    s = connection.settings_dict
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def require_redis(url: str = REDIS_URL) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); scripts/test.sh starts it.")


def app_env(redis_url: str = REDIS_URL) -> dict[str, str]:
    """Environment for a process of the project that shares the test database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": shared_database_url(),
        "TEST_REDIS_URL": redis_url,
    }


@contextmanager
def celery_worker(
    tmp_path: Path,
    queues: str = "celery",
    extra_env: dict[str, str] | None = None,
    pool: str = "solo",
    fresh_broker: bool = True,
    redis_url: str = REDIS_URL,
    wait_ready: bool = True,
) -> Iterator[tuple[Celery, subprocess.Popen]]:
    """Yield (client app, worker process) once the worker answers a ping; stop it afterwards.

    ``fresh_broker`` empties the test Redis database first; a test that restarts a worker
    to take over unacknowledged messages passes False. ``wait_ready=False`` yields at once
    (for a worker that is expected to refuse to start).
    """
    require_redis(redis_url)
    if fresh_broker:
        redis.Redis.from_url(redis_url).flushdb()
    env = {**app_env(redis_url), **(extra_env or {})}
    tmp_path.mkdir(parents=True, exist_ok=True)
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
            f"--pool={pool}",
            "--concurrency=1",
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
        start_new_session=True,  # its own process group, so a test can kill it with its children
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # Not the current app: shared tasks sent by the code under test must keep the project app's routes.
    client = Celery("test-client", broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        deadline = time.monotonic() + 90
        while wait_ready and not client.control.ping(timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{(tmp_path / 'worker.log').read_text()}")
        yield client, worker
    finally:
        _signal_group(worker, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(worker, signal.SIGKILL)
            worker.wait()
        log.close()
        client.close()


def _signal_group(worker: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone (e.g. a test killed it)
        os.killpg(worker.pid, sig)
