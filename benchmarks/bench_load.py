"""Load test: shoppers browse and post camera frames at 2 frames/s while the worker classifies,
on loopback: the production stack (gunicorn, Redis, two worker processes, PostgreSQL), or with
``--broker embedded`` the embedded default (SQLite, one worker process on the embedded broker,
as the demo runs it), served by gunicorn too: Django's development server, which the demo
uses for one machine's browser, resets connections beyond a handful at once.

Each shopper sends its next frame when the last answer says, as the page does (202's
``next_frame_ms``, a refusal's ``Retry-After``). Reports, for the frames accepted *during* the
load, POST→stored p50/p95/p99 (the live badge's staleness), frames stored as stale gaps,
frames lost (accepted and never an observation), the live badge's staleness (below), 429/503
refusals, HTTP latency, errors, the emotion queue's depth over time, the drain time after the
load, and the resident memory of the web and worker processes. Writes
benchmarks/results/load_<shoppers>.json (``load_embedded_<shoppers>.json`` on the embedded
broker) and the queue-depth plot beside it.

Live-badge staleness: sampled every half second of the load (after 10 s of warm-up) for every
shopper, the age of the newest frame whose label the status API (what the badge polls)
already answers: sample time minus that frame's capture time. The page polls every 1.5 s,
which adds up to 1.5 s on screen.

    .venv/bin/python benchmarks/bench_load.py [--shoppers 50] [--seconds 120] [--broker embedded]
"""

import argparse
import bisect
import json
import os
import statistics
import subprocess
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import face_jpeg, prepare_shoppers, wait_until_up
from benchmarks.bench_worker import pool_pids, rss_mb, start_worker, stop
from benchmarks.common import (
    REDIS_URL,
    RESULTS,
    drop_database,
    gunicorn,
    seed_small_shop,
    server_env,
    small_shop,
    write_result,
)
from tests.servers import free_port

DB = "moodshop_bench_load"


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


WARM_UP_SECONDS = 10.0
BADGE_SAMPLE_SECONDS = 0.5


def frame_outcomes(shoppers: list["Shopper"], load_starts: float, load_ends: float) -> dict:
    """POST→stored of the frames accepted during the load, stale gaps, lost frames, badge staleness.

    ``load_starts``/``load_ends`` are Unix times.
    """
    from emotion.models import DroppedFrames, EmotionObservation

    accepted = {(s.view, seq): at for s in shoppers for seq, at in s.accepted.items()}
    rows = EmotionObservation.objects.filter(view__view_id__in={s.view for s in shoppers}).values_list(
        "view__view_id", "sequence", "created_at", "captured_at", "outcome", "label"
    )
    latency_ms, stale, seen = [], 0, set()
    labelled: dict[str, list[tuple[float, float]]] = {}  # view -> (stored at, captured at)
    for view_id, seq, created, captured, outcome, label in rows:
        key = (str(view_id), seq)
        seen.add(key)
        if outcome == "stale":
            stale += 1
        elif key in accepted and accepted[key] <= load_ends:
            latency_ms.append((created.timestamp() - accepted[key]) * 1000)
        if label:
            labelled.setdefault(str(view_id), []).append((created.timestamp(), captured.timestamp()))
    staleness_ms, without_label = badge_staleness(labelled, [s.view for s in shoppers], load_starts, load_ends)
    dropped = dict(DroppedFrames.objects.values_list("outcome", "frames"))
    return {
        "accepted": len(accepted),
        "stored": len(seen) - stale,
        "stale_gaps": stale,
        "dropped_counted": dropped,
        "lost": len(set(accepted) - seen) - sum(dropped.values()),
        "post_to_stored_during_load": {
            "count": len(latency_ms),
            "p50_ms": percentile(latency_ms, 0.5),
            "p95_ms": percentile(latency_ms, 0.95),
            "p99_ms": percentile(latency_ms, 0.99),
        },
        "badge_staleness_during_load": {
            "samples": len(staleness_ms),
            "p50_ms": percentile(staleness_ms, 0.5),
            "p95_ms": percentile(staleness_ms, 0.95),
            "p99_ms": percentile(staleness_ms, 0.99),
            "samples_with_no_label_yet": without_label,
            "page_poll_adds_up_to_ms": 1500,
        },
    }


def badge_staleness(
    labelled: dict[str, list[tuple[float, float]]], views: list[str], load_starts: float, load_ends: float
) -> tuple[list[float], int]:
    """Per half second and shopper: the age of the newest label the status API could answer then."""
    staleness, without_label = [], 0
    for view in views:
        rows = sorted(labelled.get(view, []))
        stored_at = [stored for stored, _ in rows]
        newest_capture: list[float] = []
        for _, captured in rows:  # the newest capture among the labels stored so far
            newest_capture.append(max(captured, newest_capture[-1]) if newest_capture else captured)
        t = load_starts + WARM_UP_SECONDS
        while t <= load_ends:
            i = bisect.bisect_right(stored_at, t)
            if i == 0:
                without_label += 1
            else:
                staleness.append((t - newest_capture[i - 1]) * 1000)
            t += BADGE_SAMPLE_SECONDS
    return staleness, without_label


def embedded_shop(work: Path) -> dict[str, str]:
    """The demo's default stack: SQLite and the embedded broker (a private folder in /dev/shm)."""
    env = server_env(
        "",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        EMOTION_FRAME_ADDRESS_RATE_LIMIT="100000/second",
    )
    env.pop("REDIS_URL")
    env |= {
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "EMBEDDED_BROKER_DIR": f"/dev/shm/moodshop-bench-load-{os.getpid()}",
        "CELERY_RESULT_BACKEND": f"file://{work / 'results'}",
    }
    os.environ.pop("REDIS_URL", None)
    seed_small_shop(env)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument(
        "--broker",
        choices=["redis", "embedded"],
        default="redis",
        help="embedded: the embedded default (one worker process, the embedded broker, SQLite)",
    )
    args = parser.parse_args()
    embedded = args.broker == "embedded"

    work = Path(tempfile.mkdtemp(prefix="moodshop-load-"))
    # Every shopper posts from 127.0.0.1: lift the per-address limit (a deployment's proxy header
    # would tell them apart), so that only the freshness budget refuses frames.
    if embedded:
        env = embedded_shop(work)
    else:
        env = small_shop(
            DB,
            STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
            EMOTION_FRAME_ADDRESS_RATE_LIMIT="100000/second",
        )
    from emotion.freshness import queue_depth
    from shop.models import Product

    prepare_shoppers(args.shoppers, work / "shoppers.txt")
    lines = (work / "shoppers.txt").read_text().split()
    pages = ["/", "/products/"] + [p.get_absolute_url() for p in Product.objects.all()[:10]]
    jpeg = face_jpeg()
    if not embedded:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    port = free_port()
    web = gunicorn(env, port, args.web_workers)
    if embedded:  # one process taking both queues, as the demo's worker
        worker = start_worker(env, 1, work / "worker.log", queues="celery,emotion")
    else:
        worker = start_worker(env, args.worker_processes, work / "worker.log")
    depth: list[tuple[float, int]] = []
    memory: list[dict] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/api/v1/consent/")
        start = time.monotonic()
        started_unix = time.time()
        load_at_start = os.getloadavg()
        stop_at = start + args.seconds
        shoppers = [Shopper(line, base, jpeg, stop_at, pages) for line in lines]
        for s in shoppers:
            s.start()
            time.sleep(0.5 / len(shoppers))  # spread the shoppers' ticks over the half second
        drained_at = None
        while True:
            now = time.monotonic() - start
            depth.append((round(now, 1), queue_depth()))
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
        outcomes = frame_outcomes(shoppers, started_unix, started_unix + args.seconds)
    finally:
        stop(worker)
        stop(web)
        if embedded:
            subprocess.run(["rm", "-rf", env["EMBEDDED_BROKER_DIR"]], check=False)
        else:
            redis.Redis.from_url(REDIS_URL).flushdb()
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
    processes = 1 if embedded else args.worker_processes
    stack = "gunicorn, the embedded broker, SQLite" if embedded else "gunicorn, Redis, PostgreSQL"
    ax.set_title(f"{args.shoppers} shoppers at 2 frames/s, {processes} worker process(es), {args.broker}")
    ax.legend()
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"load_embedded_{args.shoppers}" if embedded else f"load_{args.shoppers}"
    fig.savefig(RESULTS / ("load_embedded_queue_depth.png" if embedded else "load_queue_depth.png"), dpi=100)

    p95 = outcomes["post_to_stored_during_load"]["p95_ms"]
    write_result(
        name,
        {
            "benchmark": f"{args.shoppers} shoppers browsing and posting frames at up to 2 frames/s ({stack})",
            "setup": {
                "shoppers": args.shoppers,
                "seconds": args.seconds,
                "broker": args.broker,
                "web": f"gunicorn, {args.web_workers} workers",
                "worker_processes": processes,
                "frame_bytes": len(jpeg),
                "load_average_at_start": load_at_start,
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
            "load_average_at_end": os.getloadavg(),
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
