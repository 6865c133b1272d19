"""Shared plumbing for the benchmarks: a fresh PostgreSQL database, Django set-up, result files."""

import json
import os
import platform
import secrets
import string
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))


def fresh_database(name: str) -> str:
    """Drop and create a benchmark database; return its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production-like settings on loopback: DEBUG off, real PostgreSQL and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "moodshop.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "".join(secrets.choice(string.ascii_letters) for _ in range(50)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def small_shop(database: str, **extra: str) -> dict[str, str]:
    """A fresh database with a migrated schema and a small seeded shop; returns the server env
    (this process is set up for Django on it too)."""
    env = server_env(fresh_database(database), CONN_MAX_AGE="600", **extra)
    seed_small_shop(env)
    return env


def seed_small_shop(env: dict[str, str]) -> None:
    """Migrate the env's database, seed 50 products and 10 shoppers, and set Django up on it here."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--products", "50", "--shoppers", "10"],
        cwd=ROOT,
        env={**env, "MEDIA_ROOT": tempfile.mkdtemp()},
        check=True,
    )
    setup_django(env)


def gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    """The project under gunicorn on loopback, as the benchmarks drive it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "moodshop.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    """Request count, median, p95 (nearest rank below, never interpolated) and maximum, in ms."""
    series = pd.Series(samples_ms, dtype=float)
    return {
        "requests": int(series.count()),
        "p50_ms": round(float(series.median()), 1),
        "p95_ms": round(float(series.quantile(0.95, interpolation="lower")), 1),
        "max_ms": round(float(series.max()), 1),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    result = {
        **result,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
