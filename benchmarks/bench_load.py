"""Load test: shoppers browse and post camera frames at 2 frames/s while the worker classifies,
on loopback (gunicorn, Redis, two worker processes, PostgreSQL).

Each shopper sends its next frame when the last answer says, as the page does (202's
``next_frame_ms``, a refusal's ``Retry-After``). Reports, for the frames accepted *during* the
load, POST→stored p50/p95/p99 (the live badge's staleness), frames stored as stale gaps,
frames lost (accepted and never an observation), 429/503 refusals, HTTP latency, errors, the
emotion queue's depth over time, the drain time after the load, and the resident memory of
the web and worker processes. Writes benchmarks/results/load_<shoppers>.json (with
``--json-name``, another name) and benchmarks/results/load_queue_depth.png.

    .venv/bin/python benchmarks/bench_load.py [--shoppers 50] [--seconds 120]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import face_jpeg, prepare_shoppers, wait_until_up
from benchmarks.bench_worker import pool_pids, rss_mb, start_worker, stop
from benchmarks.common import (
    REDIS_URL,
    RESULTS,
    drop_database,
    gunicorn,
    small_shop,
    write_result,
)

DB = "moodshop_bench_load"
PORT = 8767


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


class Shopper(threading.Thread):
    """Posts a frame every 0.5 s and browses a page every 10 s until ``stop_at``."""

    def __init__(self, line: str, base: str, jpeg: bytes, stop_at: float, pages: list[str]) -> None:
        super().__init__(daemon=True)
        self.session, self.csrf, self.product, self.view = line.split("|")
        self.base, self.jpeg, self.stop_at, self.pages = base, jpeg, stop_at, pages
        self.frame_ms: list[float] = []
        self.page_ms: list[float] = []
        self.errors: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.accepted: dict[int, float] = {}  # seq -> when the 202 came (Unix seconds)
        self.delay = 0.5

    def request(self, url: str, data: bytes | None, bucket: list[float], seq: int | None = None) -> None:
        headers = {"Cookie": f"sessionid={self.session}; csrftoken={self.csrf}", "X-CSRFToken": self.csrf}
        if data is not None:
            headers["Content-Type"] = "image/jpeg"
        start = time.perf_counter()
        self.delay = 0.5
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as r:
                body = r.read()
                status = r.status
            if status == 202 and seq is not None:
                self.accepted[seq] = time.time()
                self.delay = json.loads(body).get("next_frame_ms", 500) / 1000
        except urllib.error.HTTPError as error:
            status = error.code
            if status in (429, 503):
                self.delay = float(error.headers.get("Retry-After") or 1)
        except OSError as error:
            status = type(error).__name__
        bucket.append((time.perf_counter() - start) * 1000)
        if status in (429, 503):
            self.refused[str(status)] = self.refused.get(str(status), 0) + 1
        elif status not in (200, 202):
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1

    def run(self) -> None:
        seq, next_page = 0, time.monotonic()
        while (now := time.monotonic()) < self.stop_at:
            url = (
                f"{self.base}/api/v1/frames/?product={self.product}&view={self.view}&seq={seq}&ts={time.time() * 1000}"
            )
            self.request(url, self.jpeg, self.frame_ms, seq)
            delay = self.delay
            seq += 1
            if now >= next_page:
                self.request(self.base + self.pages[seq % len(self.pages)], None, self.page_ms)
                next_page = now + 10
            time.sleep(max(0.0, now + delay - time.monotonic()))


def frame_outcomes(shoppers: list["Shopper"], load_ends: float) -> dict:
    """POST→stored of the frames accepted during the load, stale gaps and lost frames."""
    from emotion.models import EmotionObservation

    accepted = {(s.view, seq): at for s in shoppers for seq, at in s.accepted.items()}
    rows = EmotionObservation.objects.filter(view__view_id__in={s.view for s in shoppers}).values_list(
        "view__view_id", "sequence", "created_at", "outcome"
    )
    latency_ms, stale, seen = [], 0, set()
    for view_id, seq, created, outcome in rows:
        key = (str(view_id), seq)
        seen.add(key)
        if outcome == "stale":
            stale += 1
        elif key in accepted and accepted[key] <= load_ends:
            latency_ms.append((created.timestamp() - accepted[key]) * 1000)
    return {
        "accepted": len(accepted),
        "stored": len(seen) - stale,
        "stale_gaps": stale,
        "lost": len(set(accepted) - seen),
        "post_to_stored_during_load": {
            "count": len(latency_ms),
            "p50_ms": percentile(latency_ms, 0.5),
            "p95_ms": percentile(latency_ms, 0.95),
            "p99_ms": percentile(latency_ms, 0.99),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-processes", type=int, default=2)
    args = parser.parse_args()

    # Every shopper posts from 127.0.0.1: lift the per-address limit (a deployment's proxy header
    # would tell them apart), so that only the freshness budget refuses frames.
    env = small_shop(
        DB,
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        EMOTION_FRAME_ADDRESS_RATE_LIMIT="100000/second",
    )
    from shop.models import Product

    work = Path(tempfile.mkdtemp(prefix="moodshop-load-"))
    prepare_shoppers(args.shoppers, work / "shoppers.txt")
    lines = (work / "shoppers.txt").read_text().split()
    pages = ["/", "/products/"] + [p.get_absolute_url() for p in Product.objects.all()[:10]]
    jpeg = face_jpeg()
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()

    web = gunicorn(env, PORT, args.web_workers)
    worker = start_worker(env, args.worker_processes, work / "worker.log")
    depth: list[tuple[float, int]] = []
    memory: list[dict] = []
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_until_up(f"{base}/api/v1/consent/")
        start = time.monotonic()
        stop_at = start + args.seconds
        shoppers = [Shopper(line, base, jpeg, stop_at, pages) for line in lines]
        for s in shoppers:
            s.start()
            time.sleep(0.5 / len(shoppers))  # spread the shoppers' ticks over the half second
        drained_at = None
        while True:
            now = time.monotonic() - start
            depth.append((round(now, 1), queue.llen("emotion")))
            if int(now) % 5 == 0 and (not memory or memory[-1]["t"] != int(now)):
                memory.append(
                    {
                        "t": int(now),
                        "web_mb": [round(rss_mb(p), 1) for p in pool_pids(web)],
                        "worker_mb": [round(rss_mb(p), 1) for p in pool_pids(worker)],
                    }
                )
            if now > args.seconds and depth[-1][1] == 0 and not any(s.is_alive() for s in shoppers):
                drained_at = now
                break
            if now > args.seconds + 300:
                break
            time.sleep(1)
        outcomes = frame_outcomes(shoppers, time.time() - (time.monotonic() - stop_at))
    finally:
        stop(worker)
        stop(web)
        queue.flushdb()
        drop_database(DB)

    frame_ms = [ms for s in shoppers for ms in s.frame_ms]
    page_ms = [ms for s in shoppers for ms in s.page_ms]
    errors: dict[str, int] = {}
    refused: dict[str, int] = {}
    for s in shoppers:
        for key, n in s.errors.items():
            errors[key] = errors.get(key, 0) + n
        for key, n in s.refused.items():
            refused[key] = refused.get(key, 0) + n
    during = [m for m in memory if m["t"] <= args.seconds]
    first, last = during[min(2, len(during) - 1)], during[-1]  # after ~10 s of warm-up
    drain = round(drained_at - args.seconds, 1) if drained_at is not None else None

    times, depths = zip(*depth, strict=True)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(times, depths)
    ax.axvline(args.seconds, color="grey", linestyle="--", label="load stops")
    ax.set_xlabel("seconds")
    ax.set_ylabel("frames waiting in the emotion queue")
    ax.set_title(f"{args.shoppers} shoppers at 2 frames/s, {args.worker_processes} worker processes")
    ax.legend()
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "load_queue_depth.png", dpi=100)

    p95 = outcomes["post_to_stored_during_load"]["p95_ms"]
    write_result(
        f"load_{args.shoppers}",
        {
            "benchmark": f"{args.shoppers} shoppers browsing and posting frames at up to 2 frames/s (loopback, Redis)",
            "setup": {
                "shoppers": args.shoppers,
                "seconds": args.seconds,
                "gunicorn_workers": args.web_workers,
                "worker_processes": args.worker_processes,
                "frame_bytes": len(jpeg),
            },
            "requests": len(frame_ms) + len(page_ms),
            "throughput_rps": round((len(frame_ms) + len(page_ms)) / args.seconds, 1),
            "frames": {
                "count": len(frame_ms),
                "p50_ms": percentile(frame_ms, 0.5),
                "p99_ms": percentile(frame_ms, 0.99),
                "mean_ms": round(statistics.fmean(frame_ms), 1) if frame_ms else None,
            },
            "pages": {"count": len(page_ms), "p50_ms": percentile(page_ms, 0.5), "p99_ms": percentile(page_ms, 0.99)},
            "errors": errors,
            "refused": refused,
            "frame_outcomes": outcomes,
            "queue_depth": {
                "max": max(depths),
                "at_load_end": next((d for t, d in depth if t >= args.seconds), None),
                "drain_seconds_after_load": drain,
                "series": depth,
            },
            "memory_mb": {
                "warm": first,
                "end": last,
                "samples": memory,
                "web_growth_mb": round(max(last["web_mb"], default=0) - max(first["web_mb"], default=0), 1),
                "worker_growth_mb": round(max(last["worker_mb"], default=0) - max(first["worker_mb"], default=0), 1),
            },
            "targets": {"errors": 0, "drain_seconds": 30, "post_to_stored_p95_ms": 2000, "lost": 0},
            "meets_targets": not errors
            and drain is not None
            and drain <= 30
            and p95 is not None
            and p95 <= 2000
            and outcomes["lost"] == 0,
        },
    )


if __name__ == "__main__":
    main()
