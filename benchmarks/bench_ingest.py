"""Benchmark: POST /api/v1/frames/ under gunicorn with wrk on loopback.

Capacity: wrk keeps 50 connections busy, each request from the next of 500 consenting
shoppers with a 320x240 JPEG of a real face (scikit-image's astronaut); target >= 300 req/s.
A GET of the consent endpoint with the same sessions is measured in the same run as the
baseline of what the stack itself costs. Latency: 50 shoppers post at their real rate of
2 frames/s each (an open loop, so latency is not just queueing behind a saturated server);
target p99 <= 100 ms. Needs `wrk` (apt-get install wrk).

    .venv/bin/python benchmarks/bench_ingest.py [--seconds 30] [--connections 50] [--workers 3]
"""

import argparse
import io
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import redis
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import REDIS_URL, ROOT, drop_database, gunicorn, small_shop, write_result

DB = "moodshop_bench_ingest"
PORT = 8765


def face_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(Image.fromarray(data.astronaut()).resize((320, 240)))).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def prepare_shoppers(n: int, path: Path) -> None:
    """Sessions with consent and an open product view, written as wrk's input lines."""
    from django.contrib.sessions.backends.db import SessionStore

    from emotion.services import grant_consent
    from shop.models import Product
    from shop.services import Shopper, record_view

    products = list(Product.objects.all()[:50])
    lines = []
    for i in range(n):
        session = SessionStore()
        shopper = Shopper(shopper_id=uuid.uuid4(), user=None)
        session["shopper_id"] = str(shopper.shopper_id)
        session.create()
        grant_consent(shopper)
        product = products[i % len(products)]
        view = record_view(shopper, product)
        lines.append(f"{session.session_key}|{secrets.token_hex(16)}|{product.pk}|{view.view_id}")
    path.write_text("\n".join(lines) + "\n")


def run_wrk(url: str, mode: str, shoppers: Path, frame: Path, seconds: int, connections: int, offset: int) -> dict:
    script = ROOT / "benchmarks" / "lua" / "shoppers.lua"
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
            "--",
            str(shoppers),
            str(frame),
            str(offset),
            mode,
        ],
        capture_output=True,
        text=True,
    )
    match = re.search(r"WRKJSON (\{.*\})", out.stdout)
    if out.returncode or not match:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["requests_per_second"] = round(result["requests"] / result["seconds"], 1)
    return result


def frame_request(base: str, shopper_line: str, seq: int, ts_ms: float, jpeg: bytes) -> urllib.request.Request:
    """A raw-JPEG frame POST as that shopper's browser sends it (a ``prepare_shoppers`` line)."""
    session, csrf, product, view = shopper_line.split("|")
    return urllib.request.Request(
        f"{base}/api/v1/frames/?product={product}&view={view}&seq={seq}&ts={ts_ms}",
        data=jpeg,
        method="POST",
        headers={
            "Content-Type": "image/jpeg",
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
        },
    )


def open_loop(base: str, lines: list[str], jpeg: bytes, seconds: int) -> dict:
    """Each shopper posts a frame every 0.5 s; latency of every request."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    def shopper(line: str) -> None:
        stop_at = time.monotonic() + seconds
        seq = 500_000  # apart from the sequence numbers wrk used (the API caps them at 1,000,000)
        while (tick := time.monotonic()) < stop_at:
            request = frame_request(base, line, seq, 0, jpeg)
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    code = str(response.status)
            except urllib.error.HTTPError as error:
                code = str(error.code)
            except OSError as error:
                code = type(error).__name__
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[code] = statuses.get(code, 0) + 1
            seq += 1
            time.sleep(max(0.0, tick + 0.5 - time.monotonic()))

    threads = [threading.Thread(target=shopper, args=(line,)) for line in lines]
    for i, t in enumerate(threads):
        t.start()
        time.sleep(0.5 / len(threads) if i < len(threads) - 1 else 0)
    for t in threads:
        t.join()
    ordered = sorted(latencies)
    return {
        "shoppers": len(lines),
        "offered_per_second": 2 * len(lines),
        "requests": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2], 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "statuses": statuses,
    }


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--shoppers", type=int, default=500)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    env = small_shop(DB)
    work = Path(tempfile.mkdtemp(prefix="moodshop-bench-"))
    shoppers, frame = work / "shoppers.txt", work / "frame.jpg"
    prepare_shoppers(args.shoppers, shoppers)
    frame.write_bytes(face_jpeg())
    frame_bytes = frame.stat().st_size
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()

    server = gunicorn(env, PORT, args.workers)
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_until_up(f"{base}/api/v1/consent/")
        run_wrk(f"{base}/api/v1/consent/", "get", shoppers, frame, 5, args.connections, 0)  # warm-up
        baseline = run_wrk(f"{base}/api/v1/consent/", "get", shoppers, frame, args.seconds, args.connections, 1)
        frames = run_wrk(f"{base}/api/v1/frames/", "frames", shoppers, frame, args.seconds, args.connections, 2)
        queued = queue.llen("emotion")
        queue.flushdb()
        paced = open_loop(base, shoppers.read_text().split()[: args.connections], frame.read_bytes(), args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        queue.flushdb()
        drop_database(DB)
        shutil.rmtree(work, ignore_errors=True)

    accepted = frames["statuses"].get("202", 0)
    write_result(
        "ingest",
        {
            "benchmark": "POST /api/v1/frames/ under gunicorn, wrk on loopback",
            "setup": {
                "gunicorn_workers": args.workers,
                "connections": args.connections,
                "seconds": args.seconds,
                "shoppers": args.shoppers,
                "frame_bytes": frame_bytes,
                "database": "postgresql",
                "broker": "redis",
            },
            "frames": frames,
            "frames_at_real_rate": paced,
            "baseline_get_consent": baseline,
            "frames_vs_baseline_throughput": round(frames["requests_per_second"] / baseline["requests_per_second"], 3),
            "accepted_202": accepted,
            "messages_in_emotion_queue": queued,
            "targets": {"requests_per_second": 300, "p99_ms_at_real_rate": 100},
            "meets_targets": frames["requests_per_second"] >= 300
            and paced["p99_ms"] <= 100
            and accepted == frames["requests"]
            and set(paced["statuses"]) == {"202"},
        },
    )


if __name__ == "__main__":
    main()
