"""Benchmark: seed_demo at benchmark scale (10k products, 5k shoppers) on a fresh database.

Target (issue: storefront foundation): under 2 minutes. Prints the figures and writes
benchmarks/results/seed_demo.json. Usage:

    .venv/bin/python benchmarks/bench_seed.py [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                                              [--scale 50]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "moodshop_bench_seed"


def fresh_database(admin_url: str) -> str:
    """Drop and create the benchmark database; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def manage(database_url: str, *args: str) -> float:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "MEDIA_ROOT": "/tmp/moodshop-bench-media"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scale", type=int, default=50)
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    manage(url, "migrate", "--noinput", "-v0")
    first = manage(url, "seed_demo", "--scale", str(args.scale))
    again = manage(url, "seed_demo", "--scale", str(args.scale))
    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("shop_product", "auth_user", "shop_interaction", "shop_order")
        }
    result = {
        "benchmark": "seed_demo",
        "scale": args.scale,
        "database": "postgresql",
        "seconds_first_run": round(first, 2),
        "seconds_idempotent_rerun": round(again, 2),
        "target_seconds": 120,
        "meets_target": first < 120,
        "rows": counts,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "seed_demo.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
