"""Benchmark: the emotion worker, from the Redis queue to stored observations.

1. Throughput: N frames (320x240 JPEGs of a real face, scikit-image's astronaut) are queued
   while one, then two, worker processes consume them; frames/s end to end.
   Target: >= 50 frames/s on this 2-core machine (25 shoppers at 2 frames/s).
2. Memory: resident memory of each worker process after warm-up and after 10,000 frames.
   Target: <= 600 MB, no growth after warm-up.
3. Latency: shoppers post frames at 2 frames/s each through gunicorn; p50/p99 from the
   POST to the stored observation.

    .venv/bin/python benchmarks/bench_worker.py [--frames 2000] [--memory-frames 10000] [--shoppers 25]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import face_jpeg, frame_request, prepare_shoppers, wait_until_up
from benchmarks.common import REDIS_URL, ROOT, drop_database, gunicorn, small_shop, write_result

DB = "moodshop_bench_worker"
PORT = 8766


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pool_pids(worker: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def start_worker(
    env: dict[str, str], concurrency: int, log: Path, queues: str = "emotion", *options: str
) -> subprocess.Popen:
    """A prefork worker on ``queues``, returned once it logged ready and its pool is up.

    Readiness is read from the log, not a control ping: the embedded broker has no broadcast.
    """
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "moodshop",
            "worker",
            "-Q",
            queues,
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
            *options,
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a benchmark can signal it whole
    )
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    while len(pool_pids(worker)) < concurrency:
        time.sleep(0.2)
    return worker


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def enqueue(views: list, n: int, start_seq: int, frame: bytes) -> None:
    """Queue ``n`` frames round-robin over the views (``FrameTarget``s), as the API does."""
    from emotion.tasks import enqueue_frame

    now = datetime.now(UTC)
    for i in range(n):
        enqueue_frame(views[i % len(views)], start_seq + i // len(views), now, frame)


def stored() -> int:
    from emotion.models import EmotionObservation

    return EmotionObservation.objects.count()


def wait_stored(target: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (count := stored()) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count} of {target} observations stored after {timeout}s")
        time.sleep(0.05)
    return time.monotonic()


def wait_queue_idle(timeout: float) -> float:
    """Until the emotion queue is empty and no task is held unacknowledged (ETA rebuilds)."""
    broker = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + timeout
    while broker.llen("emotion") or broker.hlen("unacked"):
        if time.monotonic() > deadline:
            raise RuntimeError("the emotion queue did not drain")
        time.sleep(0.05)
    return time.monotonic()


def throughput(env, views, frames: int, concurrency: int, work: Path, frame: bytes, seq0: int) -> dict:
    worker = start_worker(env, concurrency, work / f"worker-{concurrency}.log")
    try:
        base = stored()
        enqueue(views, 20 * concurrency, seq0, frame)  # warm-up: model and connections
        wait_stored(base + 20 * concurrency, 120)
        base = stored()
        start = time.monotonic()
        enqueue(views, frames, seq0 + 1000, frame)
        end = wait_stored(base + frames, 1200)
        settled = wait_queue_idle(600)
        return {
            "worker_processes": concurrency,
            "frames": frames,
            "seconds": round(end - start, 2),
            "frames_per_second": round(frames / (end - start), 1),
            # Including the debounced reaction rebuilds queued by these frames.
            "seconds_until_reactions_rebuilt": round(settled - start, 2),
        }
    finally:
        stop(worker)


def memory(env, views, frames: int, work: Path, frame: bytes, seq0: int) -> dict:
    worker = start_worker(env, 2, work / "worker-memory.log")
    try:
        base = stored()
        samples = []
        step = frames // 10
        for k in range(10):
            enqueue(views, step, seq0 + k * 10_000, frame)
            wait_stored(base + (k + 1) * step, 1200)
            samples.append(
                {
                    "frames": (k + 1) * step,
                    "rss_mb": [round(rss_mb(p), 1) for p in pool_pids(worker)],
                    "main_rss_mb": round(rss_mb(worker.pid), 1),
                }
            )
        warm, last = samples[0], samples[-1]
        return {
            "frames": frames,
            "samples": samples,
            "max_rss_mb_per_process": max(max(s["rss_mb"]) for s in samples),
            "growth_after_warmup_mb": round(max(last["rss_mb"]) - max(warm["rss_mb"]), 1),
        }
    finally:
        stop(worker)


def latency(env, shopper_lines: list[str], jpeg: bytes, seconds: int, work: Path) -> dict:
    """Shoppers post at 2 frames/s each through gunicorn while 2 worker processes classify."""
    from emotion.models import EmotionObservation

    server = gunicorn(env, PORT, 2)
    worker = start_worker(env, 2, work / "worker-latency.log")
    sent: dict[tuple[str, int], float] = {}
    errors: list[int] = []
    try:
        wait_until_up(f"http://127.0.0.1:{PORT}/api/v1/consent/")

        def shopper(line: str) -> None:
            view = line.split("|")[3]
            for seq in range(seconds * 2):
                at = time.time()
                request = frame_request(f"http://127.0.0.1:{PORT}", line, seq, at * 1000, jpeg)
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        if response.status == 202:
                            sent[(view, seq)] = at
                except OSError:
                    errors.append(seq)
                time.sleep(max(0.0, at + 0.5 - time.time()))

        threads = [threading.Thread(target=shopper, args=(line,)) for line in shopper_lines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 120
        while (
            EmotionObservation.objects.filter(sequence__lt=seconds * 2).count() < len(sent)
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        rows = EmotionObservation.objects.filter(sequence__lt=seconds * 2).values_list(
            "view__view_id", "sequence", "created_at"
        )
        delays = sorted(
            (created.timestamp() - sent[(str(view), seq)]) * 1000
            for view, seq, created in rows
            if (str(view), seq) in sent
        )
    finally:
        stop(worker)
        stop(server)
    return {
        "shoppers": len(shopper_lines),
        "frames_per_second_offered": 2 * len(shopper_lines),
        "frames_accepted": len(sent),
        "frames_stored": len(delays),
        "errors": len(errors),
        "p50_ms": round(statistics.median(delays), 1) if delays else None,
        "p99_ms": round(delays[int(0.99 * (len(delays) - 1))], 1) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--memory-frames", type=int, default=10_000)
    parser.add_argument("--shoppers", type=int, default=25)
    parser.add_argument("--latency-seconds", type=int, default=30)
    args = parser.parse_args()

    env = small_shop(DB, CELERY_WORKER_PREFETCH_MULTIPLIER="4")
    from shop.models import Interaction

    work = Path(tempfile.mkdtemp(prefix="moodshop-bench-"))
    prepare_shoppers(args.shoppers, work / "shoppers.txt")
    lines = (work / "shoppers.txt").read_text().split()
    from emotion.models import Consent
    from emotion.services import FrameTarget

    keys = {c.shopper_id: (c.pk, bytes(c.frame_key)) for c in Consent.objects.all()}
    rows = Interaction.objects.filter(view_id__in=[line.split("|")[3] for line in lines])
    views = [FrameTarget(pk, *keys[shopper_id]) for pk, shopper_id in rows.values_list("pk", "shopper_id")]
    jpeg = face_jpeg()
    redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        results = [throughput(env, views, args.frames, c, work, jpeg, 100_000 * c) for c in (1, 2)]
        mem = memory(env, views, args.memory_frames, work, jpeg, 500_000)
        lat = latency(env, lines, jpeg, args.latency_seconds, work)
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        drop_database(DB)
    best = max(r["frames_per_second"] for r in results)
    write_result(
        "worker",
        {
            "benchmark": "emotion worker: Redis queue -> decode, detect, classify -> PostgreSQL",
            "frame": {"size": "320x240", "bytes": len(jpeg), "content": "scikit-image astronaut (one face)"},
            "throughput": results,
            "memory": mem,
            "latency_post_to_stored": lat,
            "targets": {"frames_per_second": 50, "rss_mb_per_process": 600},
            "meets_targets": best >= 50 and mem["max_rss_mb_per_process"] <= 600,
        },
    )


if __name__ == "__main__":
    main()
