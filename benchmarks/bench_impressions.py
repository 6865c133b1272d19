"""Benchmark: what logging impressions adds to a recommendation panel request (goal: at most 2 ms at p50).

A small seeded shop on PostgreSQL with the Redis cache (production settings), a trained
model, shoppers with history. The panel refresh endpoint and the API list are requested
in process, alternating the real logging with logging switched off (the same request, a
list id made up instead), so machine load hits both alike; the added time is the
difference of the medians, and the median of the paired differences beside it. Then the
bulk write: seconds and statements to write one full batch.

Writes benchmarks/results/impressions.json:

    nice -n 5 .venv/bin/python benchmarks/bench_impressions.py [--requests 400]
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")

from benchmarks.common import drop_database, latency_summary, small_shop, write_result  # noqa: E402

DATABASE = "bench_impressions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per variant and endpoint")
    args = parser.parse_args()
    small_shop(DATABASE, RECOMMENDER_IMPRESSION_FLUSH_SECONDS="0", RECOMMENDER_MODEL_DIR=f"/tmp/{DATABASE}-model")
    try:
        result = measure(args.requests)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(DATABASE)
    write_result("impressions", result)


def measure(requests: int) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from recommender import tracking
    from shop.models import Interaction

    call_command("train_recommender", verbosity=0)
    shoppers = list(Interaction.objects.values_list("shopper_id", flat=True).distinct()[:10])
    clients = []
    for shopper in shoppers:
        client = Client(SERVER_NAME="127.0.0.1")
        session = client.session
        session["shopper_id"] = str(shopper)
        session.save()
        clients.append(client)
    real = tracking.record_list

    def off(**kwargs: object) -> uuid.UUID:
        return uuid.uuid4()

    endpoints = {"panel": "/api/v1/recommendations/panel/?limit=8", "api": "/api/v1/recommendations/?limit=8"}
    out: dict = {"shoppers": len(clients), "requests_per_variant": requests, "endpoints": {}}
    for name, url in endpoints.items():
        for client in clients:  # warm: model loaded, caches filled
            client.get(url)
        on_ms, off_ms, paired = [], [], []
        for k in range(requests):
            client = clients[k % len(clients)]
            times = {}
            for variant in ("on", "off") if k % 2 else ("off", "on"):
                tracking.record_list = real if variant == "on" else off
                start = time.perf_counter()
                response = client.get(url)
                times[variant] = (time.perf_counter() - start) * 1000
                assert response.status_code == 200
            tracking.record_list = real
            on_ms.append(times["on"])
            off_ms.append(times["off"])
            paired.append(times["on"] - times["off"])
        tracking.flush()
        on, off_ = latency_summary(on_ms), latency_summary(off_ms)
        out["endpoints"][name] = {
            "with_logging": on,
            "without_logging": off_,
            "added_p50_ms": round(on["p50_ms"] - off_["p50_ms"], 2),
            "paired_difference_median_ms": round(statistics.median(paired), 3),
        }
    from django.conf import settings

    # One full batch of new lists: the statements and time the bulk write takes.
    batch = settings.RECOMMENDER_IMPRESSION_BATCH
    settings.RECOMMENDER_IMPRESSION_BATCH = 10**9  # written below by flush(), not by the last append
    for _ in range(batch):
        tracking.record_list(shopper_id=uuid.uuid4(), user_id=None, panel="home", items=list(range(8)), variant="bench")
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        written = tracking.flush()
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(10_000):
        tracking.record_list(shopper_id=uuid.uuid4(), user_id=None, panel="home", items=list(range(8)), variant="bench")
    append_us = (time.perf_counter() - start) / 10_000 * 1e6
    tracking.discard()
    out["bulk_write"] = {
        "lists": written,
        "statements": len(queries),
        "ms": round(seconds * 1000, 1),
        "ms_per_list": round(seconds * 1000 / written, 3),
    }
    out["record_list_us"] = round(append_us, 1)
    out["note"] = (
        "record_list_us: appending a new list, one Redis add() included; a refresh of a list this process"
        " has seen makes no round trip"
    )
    return out


if __name__ == "__main__":
    main()
