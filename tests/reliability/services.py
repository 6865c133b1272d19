"""Real processes the fault tests break on purpose: a private Redis, a gunicorn web server,
a TCP proxy in front of PostgreSQL, and a browser-like session to post frames with."""

import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.servers import free_port, production_redis_flags, redis_server_command
from tests.workers import ROOT, app_env


class PrivateRedis:
    """A Redis of the test's own, so it can be restarted without touching anyone else's.

    The binary is the one scripts/test.sh starts when no Redis runs (tests.servers).

    It runs with production's flags (docker-compose.yml: an append-only file synced on every
    write); its folder should be a memory-backed one, as production's tmpfs volume is.
    """

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            redis_server_command(self.port, self.folder, *production_redis_flags()),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            with suppress(redis.RedisError):
                if redis.Redis.from_url(self.url).ping():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("private redis did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def kill(self) -> None:
        """SIGKILL: no shutdown save, as an OOM kill or a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)


@contextmanager
def private_redis(folder: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def web_server(redis_url: str, log: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """gunicorn serving the project on the test database (or ``extra_env``'s); yields its base URL."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "moodshop.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=app_env(redis_url) | (extra_env or {}),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/consent/", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"web server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@dataclass
class Browser:
    """A consenting shopper's session, as cookies a plain HTTP client can send."""

    session_key: str
    csrf: str
    product_id: int
    view_id: str

    @classmethod
    def consenting(cls, product) -> "Browser":
        from django.contrib.sessions.backends.db import SessionStore

        from emotion.services import grant_consent
        from shop.services import Shopper, record_view

        shopper = Shopper(uuid.uuid4(), None)
        session = SessionStore()
        session["shopper_id"] = str(shopper.shopper_id)
        session.create()
        grant_consent(shopper)
        view = record_view(shopper, product)
        return cls(session.session_key, secrets.token_hex(16), product.pk, str(view.view_id))

    def post_frame(self, base: str, jpeg: bytes, seq: int) -> int:
        request = urllib.request.Request(
            f"{base}/api/v1/frames/?product={self.product_id}&view={self.view_id}&seq={seq}&ts={time.time() * 1000}",
            data=jpeg,
            method="POST",
            headers={
                "Content-Type": "image/jpeg",
                "X-CSRFToken": self.csrf,
                "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open.clear()
        for connection in self.connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.connections.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()
