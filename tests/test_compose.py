"""docker-compose.yml describes the whole production stack, configured from the environment."""

import shutil
import subprocess

import pytest
import yaml

from tests.workers import ROOT

COMPOSE = ROOT / "docker-compose.yml"


def test_compose_has_the_production_services():
    spec = yaml.safe_load(COMPOSE.read_text())
    assert set(spec["services"]) == {"proxy", "web", "worker", "beat", "redis", "postgres"}
    assert "pgdata" in spec["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in spec["services"]["postgres"]["volumes"]
    assert "gunicorn" in spec["services"]["web"]["command"]
    assert "worker" in spec["services"]["worker"]["command"]
    assert "beat" in spec["services"]["beat"]["command"]
    env = spec["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # never a default secret


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_compose_file_parses():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "--quiet"],
        env={"SECRET_KEY": "x", "POSTGRES_PASSWORD": "y", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_gunicorn_faces_no_client_but_a_buffering_proxy_with_client_timeouts():
    spec = yaml.safe_load(COMPOSE.read_text())
    web, proxy = spec["services"]["web"], spec["services"]["proxy"]
    assert "ports" not in web, "gunicorn's sync workers must not be published to clients"
    assert proxy["image"].startswith("nginx:") and proxy["ports"] == ["8000:80"]
    (mount,) = proxy["volumes"]
    conf = (ROOT / mount.split(":")[0]).read_text()
    for directive in (
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "send_timeout 10s;",
        "proxy_request_buffering on;",
        "proxy_buffering on;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "server web:8000;",
    ):
        assert directive in conf, directive
    assert web["environment"]["CLIENT_ADDRESS_HEADER"] == "HTTP_X_REAL_IP"  # what nginx overwrites


def test_redis_keeps_accepted_frames_across_restarts_in_memory_only():
    spec = yaml.safe_load(COMPOSE.read_text())
    redis = spec["services"]["redis"]
    flags = redis["command"].split()
    for flag, value in (("--appendonly", "yes"), ("--appendfsync", "always"), ("--dir", "/data")):
        assert flags[flags.index(flag) + 1] == value, flag
    assert "redisdata:/data" in redis["volumes"]
    volume = spec["volumes"]["redisdata"]
    assert volume["driver_opts"]["type"] == "tmpfs", "the append-only file must live in memory"
