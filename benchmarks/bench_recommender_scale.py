"""Benchmark: recommender selection and training at scale, and GET /api/v1/recommendations/ under load.

(i)  Training: 10k products × 50k shoppers × 2M interactions, generated in numpy straight into
     the engine (no ORM): shoppers with a few favourite categories out of 50, skewed product
     popularity, views with dwell times and timestamps, carts and purchases, and reactions on
     2 % of the (shopper, product) pairs. In a child process (so its memory is its own) it runs
     the hourly path of ``recommender.training`` (``selection.refit`` of a recorded selection)
     for each engine the selection may pick at this size (``--engines``; default: EASE with 256
     weights kept per item, and the fallback ALS), timing each and reading its peak memory;
     ``--select`` first runs the nightly selection itself (every candidate fitted and scored).
     Targets: hourly refit <= 60 s; selection within SELECTION_BUDGET_SECONDS.
(ii) API: that model published for a PostgreSQL shop with the same 10k products, gunicorn on
     loopback, wrk at several concurrency levels, each request from the next of 500 shoppers
     with a live history (8 views, 2 reactions) that is folded in on every request.
     Targets: p50 <= 20 ms, p99 <= 100 ms (judged per level: latency grows with queueing).
     GET /api/v1/consent/ with the same sessions and levels is the baseline of the stack itself.
     The resident memory of each web worker is read after the load (the served model included).

Writes benchmarks/results/recommender_scale.json. Needs PostgreSQL, Redis and wrk:

    .venv/bin/python benchmarks/bench_recommender_scale.py [--seconds 20] [--connections 2 4 8] [--workers 2]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import run_wrk, wait_until_up
from benchmarks.common import (
    ROOT,
    drop_database,
    fresh_database,
    gunicorn,
    server_env,
    setup_django,
    write_result,
)

DB = "moodshop_bench_recommender"
PORT = 8766
USERS, ITEMS, INTERACTIONS, CATEGORIES = 50_000, 10_000, 2_000_000, 50
REACTED_SHARE = 0.02
SHOPPERS = 500
SELECTION_BUDGET_SECONDS = 15 * 60  # nightly: the whole selection, candidates and final fit
REFIT_TARGET_SECONDS = 60


def synthetic_shop(n_users: int, n_items: int, n_events: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Interaction events as arrays: user, item, kind (0 view, 1 cart, 2 purchase), dwell seconds."""
    rng = np.random.default_rng(seed)
    item_category = rng.integers(CATEGORIES, size=n_items)
    item_weight = 1.0 / (rng.permutation(n_items) + 1.0) ** 0.7  # a long tail of product popularity
    activity = rng.lognormal(0.0, 1.0, n_users)
    users = rng.choice(n_users, size=n_events, p=activity / activity.sum())
    favourites = rng.integers(CATEGORIES, size=(n_users, 3))
    taste = favourites[users, rng.integers(3, size=n_events)]
    categories = np.where(rng.random(n_events) < 0.8, taste, rng.integers(CATEGORIES, size=n_events))
    items = np.empty(n_events, dtype=np.int64)
    for category in range(CATEGORIES):
        events = np.flatnonzero(categories == category)
        members = np.flatnonzero(item_category == category)
        weights = item_weight[members]
        items[events] = rng.choice(members, size=len(events), p=weights / weights.sum())
    kinds = rng.choice(3, size=n_events, p=[0.85, 0.10, 0.05])
    dwell = rng.lognormal(2.5, 1.0, n_events)
    # 30 days of history, independent of what was viewed (the time-based split then holds out
    # a random-like tenth of each shopper's pairs: the cost, not the drift, is measured here).
    times = np.sort(rng.uniform(0, 30 * 86_400, n_events))
    return {
        "times": times,
        "users": users,
        "items": items,
        "kinds": kinds,
        "dwell": dwell,
        "item_category": item_category,
        "favourites": favourites,
    }


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train(product_ids: list[int], model_dir: Path, threads: int, select: bool, engines: list[Any]) -> dict[str, Any]:
    """Part (i), in its own process so its memory is its own: generate, (select,) refit, publish."""
    from recommender import store
    from recommender.ml.affect import AffectSignal
    from recommender.ml.matrix import ConfidenceWeights, IdIndex, InteractionMatrix, from_pairs, latest_pairs
    from recommender.ml.selection import refit
    from recommender.training import fallback_engine
    from recommender.training import train as production_train

    start = time.perf_counter()
    shop = synthetic_shop(USERS, ITEMS, INTERACTIONS)
    weights = ConfidenceWeights()
    confidence_values = np.select(
        [shop["kinds"] == 0, shop["kinds"] == 1], [weights.views(shop["dwell"]), weights.cart], weights.purchase
    )
    confidence = from_pairs(shop["users"], shop["items"], confidence_values, (USERS, ITEMS))
    last_seen = latest_pairs(shop["users"], shop["items"], shop["times"], (USERS, ITEMS))
    pair_users = np.repeat(np.arange(USERS), np.diff(confidence.indptr))
    rng = np.random.default_rng(1)
    reacted = rng.random(confidence.nnz) < REACTED_SHARE
    users, items = pair_users[reacted], confidence.indices[reacted]
    liked = (shop["favourites"][users] == shop["item_category"][items, None]).any(axis=1)
    valences = np.clip(np.where(liked, 0.5, -0.4) + rng.normal(0, 0.3, len(users)), -1, 1)
    signal = AffectSignal.from_pairs(users, items, valences, confidence.shape, shop["item_category"])
    data = InteractionMatrix(confidence, IdIndex(f"s{u}" for u in range(USERS)), IdIndex(product_ids), last_seen)
    generate_seconds = time.perf_counter() - start

    del shop
    rss_before = _rss_mb("VmRSS")
    result: dict[str, Any] = {
        "users": USERS,
        "items": ITEMS,
        "interactions": INTERACTIONS,
        "pairs": int(confidence.nnz),
        "reacted_pairs": int(reacted.sum()),
        "threads": threads,
        "generate_seconds": round(generate_seconds, 2),
        "rss_with_data_mb": round(rss_before, 1),
    }
    if select:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        started, cpu_started = time.perf_counter(), time.process_time()
        selected = production_train(data, signal, select=True, seed=0, num_threads=threads)
        peak = _rss_mb("VmHWM")
        store.publish(model_dir, selected.engine, data.users, data.items, selected.metrics)
        result["selection"] = {
            "wall_seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1),
            "budget_seconds": SELECTION_BUDGET_SECONDS,
            "seconds": selected.metrics["seconds"],
            "selected": selected.metrics["selection"]["label"],
            "reason": selected.metrics["selection"]["reason"],
            "validation_users": selected.metrics["selection"]["validation_users"],
            "candidates": [
                {key: trial.get(key) for key in ("label", "ndcg", "recall", "coverage", "seconds", "error")}
                for trial in selected.metrics["selection"]["candidates"]
            ],
            "peak_rss_mb": round(peak, 1),
            "extra_mb": round(peak - rss_before, 1),
        }
        previous = [store.current_metrics(model_dir)]
    else:
        # The hourly refit of each engine the selection may pick for a catalogue this size, as
        # the hourly task runs it (``refit`` of a recorded selection); the last one is served.
        previous = [
            {"selection": {"engine": spec.to_json()}, "blend": {"strength": 0.0, "weight": 0.0}} for spec in engines
        ]
    refits = []
    for record in previous:
        Path("/proc/self/clear_refs").write_text("5")
        before = _rss_mb("VmRSS")
        started, cpu_started = time.perf_counter(), time.process_time()
        hourly = refit(data, signal, record, fallback_engine(), seed=0, num_threads=threads)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        peak = _rss_mb("VmHWM")
        version = store.publish(model_dir, hourly.engine, data.users, data.items, hourly.metrics)
        refits.append(
            {
                "engine": hourly.engine.spec.label,
                "wall_seconds": round(wall, 1),
                # CPU seconds of all the process's threads: what the refit costs on an idle
                # machine with ``threads`` cores is about cpu / threads, whatever else runs.
                "cpu_seconds": round(cpu, 1),
                "target_seconds": REFIT_TARGET_SECONDS,
                "served_engine_mb": hourly.metrics["engine_megabytes"],
                "peak_rss_mb": round(peak, 1),
                "extra_mb": round(peak - before, 1),
            }
        )
        del hourly
    result |= {"refits": refits, "served": refits[-1]["engine"], "version": version}
    return result


def prepare_shoppers(n: int, path: Path) -> None:
    """Sessions whose shoppers viewed 8 products and reacted to 2: the live row of each request."""
    from django.contrib.sessions.backends.cached_db import SessionStore

    from emotion.models import AffectSummary
    from shop.models import Interaction, Product

    pks = list(Product.objects.values_list("pk", flat=True))
    rng = random.Random(0)
    views, reactions, lines = [], [], []
    for _ in range(n):
        shopper = uuid.uuid4()
        session = SessionStore()
        session["shopper_id"] = str(shopper)
        session.create()
        seen = rng.sample(pks, 8)
        views += [Interaction(kind="view", product_id=pk, shopper_id=shopper, dwell_seconds=30.0) for pk in seen]
        reactions += [
            AffectSummary(shopper_id=shopper, product_id=pk, seconds={"happy": 6.0}, valence=0.75) for pk in seen[:2]
        ]
        lines.append(f"{session.session_key}|x|0|0")
    Interaction.objects.bulk_create(views, batch_size=5000)
    AffectSummary.objects.bulk_create(reactions, batch_size=5000)
    path.write_text("\n".join(lines) + "\n")


def _spec(text: str) -> Any:
    """``kind:key=value,...`` -> EngineSpec (numbers as int or float, ``binary`` as a flag)."""
    from recommender.ml.engines import EngineSpec

    kind, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        params[key] = bool(int(value)) if key == "binary" else (int(value) if value.isdigit() else float(value))
    if kind in ("als", "ease"):
        params = {k: float(v) if k in ("regularization", "alpha") else v for k, v in params.items()}
    return EngineSpec(kind, params)


def _children(pid: int) -> list[int]:
    """Worker pids of a gunicorn master (Linux /proc)."""
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    return pids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 4, 8], help="wrk concurrency levels")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="training threads (implicit)")
    parser.add_argument("--select", action="store_true", help="run the nightly selection first (slow)")
    parser.add_argument(
        "--engines",
        default="ease:regularization=100,binary=1,neighbours=256;als:factors=64,regularization=30,alpha=32,iterations=15",
        help="without --select: the engines whose hourly refit is measured, the last one served",
    )
    parser.add_argument("--train-only", type=Path, help=argparse.SUPPRESS)  # child mode: product ids file
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.train_only:  # the child process of part (i)
        setup_django(dict(os.environ))
        product_ids = json.loads(args.train_only.read_text())
        engines = [_spec(text) for text in args.engines.split(";")]
        result = train(product_ids, args.model_dir, args.threads, args.select, engines)
        print("TRAINJSON " + json.dumps(result), flush=True)
        return

    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="moodshop-bench-rec-"))
    model_dir = work / "recommender"
    env = server_env(
        fresh_database(DB), CONN_MAX_AGE="600", RECOMMENDER_MODEL_DIR=str(model_dir), RECOMMENDER_SERVE_THREADS="1"
    )
    server = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--products", str(ITEMS), "--shoppers", "100"],
            cwd=ROOT,
            env={**env, "MEDIA_ROOT": str(work / "media")},
            check=True,
        )
        setup_django(env)
        from shop.models import Product

        ids_file = work / "product_ids.json"
        ids_file.write_text(json.dumps(list(Product.objects.order_by("pk").values_list("pk", flat=True))))
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                *("--train-only", str(ids_file), "--model-dir", str(model_dir), "--threads", str(args.threads)),
                *("--engines", args.engines, *(["--select"] if args.select else [])),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if child.returncode:
            raise RuntimeError(f"training failed:\n{child.stdout}\n{child.stderr}")
        training = json.loads(child.stdout.split("TRAINJSON ", 1)[1])
        print(json.dumps(training, indent=2))

        shoppers = work / "shoppers.txt"
        prepare_shoppers(SHOPPERS, shoppers)
        server = gunicorn(env, PORT, args.workers)
        url = f"http://127.0.0.1:{PORT}/api/v1/recommendations/?limit=10"
        wait_until_up(url)
        run_wrk(url, "get", shoppers, shoppers, 5, max(args.connections), 0)  # warm-up: every worker loads the model
        baseline_url = f"http://127.0.0.1:{PORT}/api/v1/consent/"
        api, baseline = [], []
        for level, c in enumerate(args.connections):
            api.append({"connections": c, **run_wrk(url, "get", shoppers, shoppers, args.seconds, c, level + 1)})
            baseline.append({"connections": c, **run_wrk(baseline_url, "get", shoppers, shoppers, args.seconds, c, 9)})
        load = os.getloadavg()
        workers_rss = [round(_rss_of(pid), 1) for pid in _children(server.pid)]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(DB)
        shutil.rmtree(work, ignore_errors=True)

    write_result(
        "recommender_scale",
        {
            "benchmark": "recommender training at scale and GET /api/v1/recommendations/ under load",
            "training": training,
            "api": {
                "endpoint": "GET /api/v1/recommendations/?limit=10",
                "gunicorn_workers": args.workers,
                "seconds_per_level": args.seconds,
                "shoppers": SHOPPERS,
                "database": "postgresql",
                "cache_and_sessions": "redis (cached_db sessions)",
                "levels": [
                    {**level, "meets_latency_targets": level["p50_ms"] <= 20 and level["p99_ms"] <= 100}
                    for level in api
                ],
            },
            # What the stack itself costs on this machine: a session read and a small JSON answer.
            "baseline_get_consent": baseline,
            # Resident memory of each gunicorn worker after the load: Django, numpy and the served
            # engine (``training.served_engine_mb`` of it are the engine's arrays).
            "web_worker_rss_mb": workers_rss,
            "load_average_after": [round(x, 2) for x in load],
            "targets": {
                "refit_seconds": REFIT_TARGET_SECONDS,
                "selection_budget_seconds": SELECTION_BUDGET_SECONDS,
                "p50_ms": 20,
                "p99_ms": 100,
            },
            "meets_refit_target": all(r["wall_seconds"] <= REFIT_TARGET_SECONDS for r in training["refits"]),
            "meets_selection_budget": (
                training["selection"]["wall_seconds"] <= SELECTION_BUDGET_SECONDS if "selection" in training else None
            ),
            "all_responses_200": all(level["statuses"].get("200", 0) == level["requests"] for level in api),
        },
    )


if __name__ == "__main__":
    main()
