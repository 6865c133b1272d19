"""docker-compose.yml describes the whole production stack, configured from the environment."""

import shutil
import subprocess

import pytest
import yaml

from tests.workers import ROOT

COMPOSE = ROOT / "docker-compose.yml"


def test_compose_has_the_production_services():
    spec = yaml.safe_load(COMPOSE.read_text())
    assert set(spec["services"]) == {"web", "worker", "beat", "redis", "postgres"}
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
