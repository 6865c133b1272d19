"""The throwaway servers scripts/test.sh starts when nothing answers: they come up on free
ports from the pip packages, answer the Python clients, and are gone afterwards."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.servers import postgres_answers, redis_answers, throwaway_postgres, throwaway_redis
from tests.workers import ROOT


def test_throwaway_postgres_and_redis_start_answer_and_stop(tmp_path):
    (tmp_path / "pg").mkdir()
    with throwaway_postgres(tmp_path / "pg") as database, throwaway_redis(tmp_path / "redis") as broker:
        assert postgres_answers(database) and redis_answers(broker)
    assert not postgres_answers(database) and not redis_answers(broker)


def test_runner_starts_them_when_the_default_ports_are_not_ours(tmp_path):
    """With nothing on the ports it looks at, the command runs against throwaway servers."""
    probe = "import os; from tests.servers import *; print(postgres_answers(os.environ['DATABASE_URL']), "
    probe += "redis_answers(os.environ['TEST_REDIS_URL']), os.environ['DATABASE_URL'], os.environ['TEST_REDIS_URL'])"
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "TEST_REDIS_URL")}
    env |= {"TEST_DEFAULT_PG_PORT": "1", "TEST_DEFAULT_REDIS_PORT": "1", "PATH": "/usr/sbin:/sbin"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.servers", "--", sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "started a throwaway server" in result.stdout and "throwaway Valkey" in result.stdout
    pg_ok, redis_ok, database, broker = result.stdout.splitlines()[-1].split()
    assert (pg_ok, redis_ok) == ("True", "True")
    assert not postgres_answers(database) and not redis_answers(broker)


def test_a_stopped_run_stops_its_command_and_servers(tmp_path):
    """SIGTERM (CI's time-out, say) ends the command and the servers, and deletes their folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "TEST_REDIS_URL")}
    env |= {"TEST_DEFAULT_PG_PORT": "1", "TEST_DEFAULT_REDIS_PORT": "1"}
    marker = tmp_path / "child.pid"
    # Like a job a shell started in the background, the command ignores SIGINT.
    child = "import os, signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    child += f"open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    run = subprocess.Popen(
        [sys.executable, "-m", "tests.servers", "--", sys.executable, "-c", child],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [run.stdout.readline(), run.stdout.readline()]
        database, broker = (line.rsplit(" ", 1)[-1].strip() for line in lines)
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=45) == 130
    finally:
        if run.poll() is None:  # a failed stop: the servers go with it (they die with their parent)
            run.kill()
            os.kill(int(marker.read_text()), signal.SIGKILL)
    assert not postgres_answers(database) and not redis_answers(broker)
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)
