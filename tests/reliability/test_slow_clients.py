"""Slow clients against the production front: nginx (deploy/nginx.conf, as compose runs it)
before gunicorn's sync workers. Connections that trickle their request hold gunicorn's two
workers when it faces clients directly (#16 measured a plain GET waiting 37 s); behind nginx
the shop still answers at once."""

import shutil
import socket
import subprocess
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.reliability.services import web_server
from tests.servers import free_port
from tests.workers import ROOT

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed (apt-get install nginx-light)"),
]


@contextmanager
def nginx_front(upstream: str, folder: Path):
    """nginx with deploy/nginx.conf's server block, its upstream pointed at ``upstream``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server web:8000;" in server and "listen 80;" in server
    server = server.replace("server web:8000;", f"server {upstream};").replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'};\n"
        f"events {{ worker_connections 256; }}\nhttp {{ access_log off; {temp}\n{server}\n}}\n"
    )
    process = subprocess.Popen(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def trickling_client(base: str) -> socket.socket:
    """A client that sends part of its request headers and then nothing (slowloris)."""
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(b"GET /api/v1/consent/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return connection


def get_seconds(url: str, timeout: float) -> float:
    start = time.monotonic()
    try:
        urllib.request.urlopen(url, timeout=timeout).read()
    except TimeoutError:
        return timeout
    return time.monotonic() - start


def test_slow_clients_hold_gunicorn_directly_but_not_behind_nginx(tmp_path, settings):
    with web_server(settings.CELERY_BROKER_URL, tmp_path / "web.log") as direct:
        assert get_seconds(f"{direct}/api/v1/consent/", 5) < 5
        with ExitStack() as stack:
            for _ in range(2):  # one per gunicorn worker
                stack.callback(trickling_client(direct).close)
            time.sleep(0.5)
            assert get_seconds(f"{direct}/api/v1/consent/", 3) >= 3, "the slow clients should hold both workers"
        with nginx_front(direct.removeprefix("http://"), tmp_path / "nginx") as front, ExitStack() as stack:
            for _ in range(20):
                stack.callback(trickling_client(front).close)
            time.sleep(0.5)
            assert get_seconds(f"{front}/api/v1/consent/", 3) < 2
