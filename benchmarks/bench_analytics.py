"""Benchmark: reaction analytics pages over 1 million reaction events on PostgreSQL.

Seeds a fresh database with the demo catalog at benchmark scale (10k products) and
``seed_reactions`` (1M reaction events over 60 days, with the daily rollup), then times
full admin requests, in process with production settings (DEBUG off, PostgreSQL, Redis
cache): the overview (all categories and one category), the product page (with the
reaction-over-viewing-time chart, segments and data quality) of the most reacted-to products
and of random ones, hourly, the comparison page and the staff API. Target: p95 <= 300 ms.
Beside wall times (which other work on the machine inflates; the load average is recorded) it
reports hardware-independent figures: SQL queries per request and the request's CPU time in
this process. Writes benchmarks/results/analytics.json.

    .venv/bin/python benchmarks/bench_analytics.py [--events 1000000] [--requests 40] [--keep]
"""

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import (
    ROOT,
    database_url,
    drop_database,
    fresh_database,
    latency_summary,
    server_env,
    setup_django,
    write_result,
)

DB = "moodshop_bench_analytics"
TARGET_P95_MS = 300.0


def manage(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def timings(client: Any, urls: list[str]) -> dict[str, float]:
    """Milliseconds per full request (the first one of each URL warms the connection and caches),
    and per request the SQL queries, the time spent waiting on them and the CPU time in this process."""
    from django.db import connection

    client.get(urls[0])
    samples, cpu, db, queries = [], [], [], []
    for url in urls:
        waited: list[float] = []

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any, waited: list[float] = waited) -> Any:
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                waited.append((time.perf_counter() - start) * 1000)

        start, start_cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(timed):
            response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        db.append(sum(waited))
        queries.append(len(waited))
        assert response.status_code == 200, (url, response.status_code)
    return {
        **latency_summary(samples),
        "queries_max": max(queries),
        "cpu_p50_ms": latency_summary(cpu)["p50_ms"],
        "cpu_p95_ms": latency_summary(cpu)["p95_ms"],
        "sql_wait_p50_ms": latency_summary(db)["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=50, help="seed_demo scale (50: 10k products)")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page kind")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the database a --keep run left (no seeding)")
    args = parser.parse_args()

    paths = {"MEDIA_ROOT": "/tmp/moodshop-bench-media", "STATIC_ROOT": "/tmp/moodshop-bench-static"}
    if args.reuse:
        env = server_env(database_url(DB), **paths)
        manage(env, "migrate", "--noinput", "-v0")
        seed_demo = seed_reactions = 0.0
    else:
        env = server_env(fresh_database(DB), **paths)
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "migrate", "--noinput", "-v0")
        seed_demo = manage(env, "seed_demo", "--scale", str(args.scale))
        seed_reactions = manage(env, "seed_reactions", "--events", str(args.events), "--days", "60")
    setup_django(env)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from emotion.models import ProductDailySummary, ProductEmotionDaily, ProductViewerSketch, ReactionEvent
    from insights.forms import parse_period
    from insights.services import products_with_enough_viewers
    from shop.models import Category, Product

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    admin = get_user_model().objects.filter(
        username="bench-admin"
    ).first() or get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-" + "x" * 20)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)

    rng = random.Random(3)
    busiest = list(
        ReactionEvent.objects.values("product_id").annotate(n=Count("id")).order_by("-n")[: args.requests // 2]
    )
    product_ids = [row["product_id"] for row in busiest]
    product_ids += rng.sample(list(Product.objects.values_list("pk", flat=True)), args.requests - len(product_ids))
    categories = list(Category.objects.values_list("pk", flat=True))
    overview = reverse("admin:insights_productreaction_changelist")
    pages = {
        "overview_30_days": [overview] * args.requests,
        "overview_60_days_by_category": [
            f"{overview}?from={{start}}&category={rng.choice(categories)}" for _ in range(args.requests)
        ],
        "product_30_days": [reverse("admin:insights_productreaction_product", args=[pk]) for pk in product_ids],
        "product_hourly_7_days": [
            f"{reverse('admin:insights_productreaction_product', args=[pk])}?from={{week}}&granularity=hour"
            for pk in product_ids
        ],
        "compare_two_products_30_days": [
            f"{reverse('admin:insights_productreaction_compare')}?a={a}&b={b}"
            for a, b in zip(product_ids, product_ids[1:] + product_ids[:1], strict=True)
        ],
        "compare_two_periods": [
            f"{reverse('admin:insights_productreaction_compare')}?a={pk}&from={{month}}&to={{mid}}&from_b={{mid}}&to_b={{today}}"
            for pk in product_ids
        ],
        "api_product_30_days": [reverse("insights:product-reactions", args=[pk]) for pk in product_ids],
    }
    today = timezone.localdate()
    fill = {
        "start": today - timedelta(days=59),
        "week": today - timedelta(days=6),
        "month": today - timedelta(days=29),
        "mid": today - timedelta(days=14),
        "today": today,
    }
    load_before = round(os.getloadavg()[0], 2)  # other work on the machine inflates the timings
    results = {name: timings(client, [u.format(**fill) for u in urls]) for name, urls in pages.items()}

    result = {
        "benchmark": "analytics",
        "database": "postgresql",
        "rows": {
            "products": Product.objects.count(),
            "reaction_events": ReactionEvent.objects.count(),
            "rollup_rows": ProductEmotionDaily.objects.count(),
            "viewer_sketch_rows": ProductViewerSketch.objects.count(),
            "daily_summary_rows": ProductDailySummary.objects.count(),
        },
        "min_viewers": settings.INSIGHTS_MIN_VIEWERS,
        "timed_products": len(set(product_ids)),
        "timed_products_with_enough_viewers_30_days": len(
            products_with_enough_viewers(parse_period({}), dict.fromkeys(product_ids, 0))
        ),
        "reused_database": args.reuse,
        "seconds_seed_demo": round(seed_demo, 1),
        "seconds_seed_reactions": round(seed_reactions, 1),
        "pages": results,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": all(r["p95_ms"] <= TARGET_P95_MS for r in results.values()),
        "load_average_1min_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "note": "In-process Django test client, full request (middleware, queries, template); one process.",
    }
    write_result("analytics", result)
    if not args.keep:
        connection.close()
        drop_database(DB)


if __name__ == "__main__":
    main()
