"""Faults under load, repeated: Redis restarts with a backlog, worker SIGKILLs, PostgreSQL cuts.

The production stack on loopback: a private Redis with production's flags (read from
docker-compose.yml: an append-only file synced on every write) in a folder on /dev/shm, as
compose's tmpfs volume; gunicorn (2 workers) and a prefork worker (2 processes), both reaching
PostgreSQL through a TCP proxy that can cut every connection. Shoppers (default 10) post
frames at up to 2 frames/s throughout, following ``next_frame_ms`` and ``Retry-After`` as the
page does, and browse a page every 10 s.

- ``redis``: 20 restarts, alternately graceful (SIGTERM) and hard (SIGKILL), each with a
  backlog: the worker is paused (SIGSTOP) for 3 s before Redis goes down for 1 s.
- ``worker``: 10 SIGKILLs of the whole worker (main process and pool) mid-stream, each
  followed by a restart; the frames it held come back after the visibility timeout.
- ``postgres``: the database cut for 10 s, then for 60 s.

After each kind's faults and a drain (until no frame is queued, held or has an open
receipt: ``emotion.receipts``, settled by the beat task ``settle_lost_frames`` that a
worker of the default queue runs, as in compose), every frame answered 202 must be accounted
for (what a 202 promises, README): an observation of its view (classified, or a gap such as
``stale``) or a count in ``DroppedFrames``. Reports, per kind and per fault: accepted,
observations by outcome, counted drops, lost, 5xx and other errors, 429/503 refusals.
Writes benchmarks/results/faults.json.

    .venv/bin/python benchmarks/bench_faults.py [--shoppers 10] [--only redis,worker,postgres]
"""

import argparse
import bisect
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import face_jpeg, prepare_shoppers, wait_until_up
from benchmarks.bench_load import Shopper
from benchmarks.bench_worker import start_worker, stop
from benchmarks.common import database_url, drop_database, gunicorn, server_env, small_shop, write_result
from tests.reliability.services import PrivateRedis, TcpProxy

DB = "moodshop_bench_faults"
PORT = 8768
DRAIN_TIMEOUT = 300.0  # past emotion.receipts.LOST_AFTER_SECONDS and a beat period


class Stack:
    """Redis, the database proxy, the web server and the worker, each restartable on its own."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="moodshop-faults-redis-", dir="/dev/shm")))
        self.redis.start()
        self.proxy = TcpProxy(int(urlsplit(database_url(DB)).port or 5432))
        parts = urlsplit(database_url(DB))
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{self.proxy.port}"
        self.env = server_env(
            urlunsplit(parts._replace(netloc=netloc)),
            REDIS_URL=self.redis.url,
            SECRET_KEY=os.environ["SECRET_KEY"],  # this process's: it signed the shoppers' sessions
            CONN_MAX_AGE="600",
            STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
            EMOTION_FRAME_ADDRESS_RATE_LIMIT="100000/second",
        )
        self.web = gunicorn(self.env, PORT, 2)
        self.worker = self.start_worker()
        # The default queue's worker with beat, as compose's: it runs settle_lost_frames.
        beat = ("--beat", "--schedule", str(work / "celerybeat-schedule"))
        self.beat = start_worker(self.env, 1, work / "beat.log", "celery", *beat)
        self.base = f"http://127.0.0.1:{PORT}"
        wait_until_up(f"{self.base}/api/v1/consent/")

    def start_worker(self) -> subprocess.Popen:
        return start_worker(self.env, 2, self.work / f"worker-{uuid.uuid4().hex[:6]}.log")

    def signal_worker(self, signum: int) -> None:
        os.killpg(self.worker.pid, signum)

    def kill_worker(self) -> None:
        self.signal_worker(signal.SIGKILL)
        self.worker.wait(timeout=30)

    def queued(self) -> int:
        """Frames whose outcome is not written yet: queued, taken and not acknowledged, or with an open receipt."""
        import redis

        from emotion.receipts import KEY

        client = redis.Redis.from_url(self.redis.url)
        try:
            return int(client.llen("emotion")) + int(client.hlen("unacked")) + int(client.hlen(KEY))
        except redis.RedisError:
            return -1

    def close(self) -> None:
        for process in (self.worker, self.beat, self.web):
            if process.poll() is None:
                stop(process)
        self.redis.stop()
        self.proxy.close()
        subprocess.run(["rm", "-rf", str(self.redis.folder)], check=False)


def dropped_total() -> int:
    from django.db.models import Sum

    from emotion.models import DroppedFrames

    return DroppedFrames.objects.aggregate(n=Sum("frames"))["n"] or 0


def account(shoppers: list[Shopper], fault_times: list[float], dropped: int) -> dict:
    """Every accepted frame against the observations; the losses per fault.

    A lost frame is charged to the first fault after its 202 (the one it was queued through).
    """
    from emotion.models import EmotionObservation

    accepted = {(s.view, seq): at for s in shoppers for seq, at in s.accepted.items()}
    rows = EmotionObservation.objects.filter(view__view_id__in={s.view for s in shoppers}).values_list(
        "view__view_id", "sequence", "outcome"
    )
    seen = {(str(view), seq) for view, seq, _ in rows}
    outcomes = Counter(outcome for _, _, outcome in rows)
    missing = sorted(accepted[key] for key in set(accepted) - seen)
    per_fault = [0] * len(fault_times)
    before_fault = []  # seconds from each lost frame's 202 to the fault it went through
    for at in missing:
        index = min(bisect.bisect_left(fault_times, at), len(fault_times) - 1)
        per_fault[index] += 1
        before_fault.append(round(fault_times[index] - at, 3))
    errors: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for s in shoppers:
        errors.update(s.errors)
        refused.update(s.refused)
    return {
        "accepted": len(accepted),
        "observations": dict(outcomes),
        "dropped_counted": dropped,
        "lost": len(missing) - dropped,
        "lost_per_fault": per_fault,
        "missing_accepted_seconds_before_their_fault": before_fault,
        "errors": dict(errors),
        "server_errors_5xx": sum(n for code, n in errors.items() if code.startswith("5")),
        "refused": dict(refused),
    }


def drain(stack: Stack, shoppers: list[Shopper]) -> float | None:
    """Stop the shoppers; seconds until the queue and the unacknowledged messages are empty."""
    for s in shoppers:
        s.stop_at = 0.0
    for s in shoppers:
        s.join(timeout=15)
    start = time.monotonic()
    while time.monotonic() - start < DRAIN_TIMEOUT:
        if stack.queued() == 0:
            time.sleep(2)  # the last tasks' writes
            return round(time.monotonic() - start, 1)
        time.sleep(0.5)
    return None


def shoppers_for(stack: Stack, n: int, work: Path, jpeg: bytes, pages: list[str]) -> list[Shopper]:
    lines_file = work / f"shoppers-{uuid.uuid4().hex[:6]}.txt"
    prepare_shoppers(n, lines_file)
    shoppers = [Shopper(line, stack.base, jpeg, float("inf"), pages) for line in lines_file.read_text().split()]
    for s in shoppers:
        s.start()
        time.sleep(0.5 / n)
    return shoppers


def redis_restarts(stack: Stack, count: int) -> list[dict]:
    faults = []
    for i in range(count):
        time.sleep(3)
        stack.signal_worker(signal.SIGSTOP)  # a backlog builds up
        time.sleep(3)
        backlog = stack.queued()
        kind = "graceful" if i % 2 == 0 else "kill"
        stack.redis.stop() if kind == "graceful" else stack.redis.kill()
        time.sleep(1)
        stack.redis.start()
        stack.signal_worker(signal.SIGCONT)
        faults.append({"at": time.time(), "kind": kind, "backlog": backlog})
    return faults


def worker_kills(stack: Stack, count: int) -> list[dict]:
    faults = []
    for _ in range(count):
        time.sleep(5)
        held = stack.queued()
        stack.kill_worker()
        faults.append({"at": time.time(), "kind": "SIGKILL", "queued_or_held": held})
        stack.worker = stack.start_worker()
    return faults


def postgres_cuts(stack: Stack, seconds: tuple[int, ...]) -> list[dict]:
    faults = []
    for length in seconds:
        time.sleep(10)
        faults.append({"at": time.time(), "kind": f"cut {length} s"})
        stack.proxy.cut()
        time.sleep(length)
        stack.proxy.restore()
        time.sleep(20)
    return faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=10)
    parser.add_argument("--only", default="redis,worker,postgres")
    parser.add_argument("--redis-restarts", type=int, default=20)
    parser.add_argument("--worker-kills", type=int, default=10)
    args = parser.parse_args()

    small_shop(DB)
    from shop.models import Product

    work = Path(tempfile.mkdtemp(prefix="moodshop-faults-"))
    jpeg = face_jpeg()
    pages = ["/", "/products/"] + [p.get_absolute_url() for p in Product.objects.all()[:10]]
    stack = Stack(work)
    results: dict[str, dict] = {}
    load_at_start = os.getloadavg()
    try:
        for kind in args.only.split(","):
            shoppers = shoppers_for(stack, args.shoppers, work, jpeg, pages)
            dropped_before = dropped_total()
            started = time.time()
            if kind == "redis":
                faults = redis_restarts(stack, args.redis_restarts)
            elif kind == "worker":
                faults = worker_kills(stack, args.worker_kills)
            elif kind == "postgres":
                faults = postgres_cuts(stack, (10, 60))
            else:
                raise SystemExit(f"unknown fault kind {kind!r}")
            drained = drain(stack, shoppers)
            result = account(shoppers, [f["at"] for f in faults], dropped_total() - dropped_before)
            result |= {"faults": faults, "seconds": round(time.time() - started, 1), "drain_seconds": drained}
            results[kind] = result
            print(kind, {k: v for k, v in result.items() if k != "faults"}, flush=True)
    finally:
        stack.close()
        drop_database(DB)

    write_result(
        "faults",
        {
            "benchmark": "faults under load, repeated (loopback: gunicorn, Redis with production's flags, "
            "2 worker processes, PostgreSQL behind a cuttable proxy)",
            "setup": {"shoppers": args.shoppers, "frames_per_second_each": 2, "load_average_at_start": load_at_start},
            "results": results,
            "load_average_at_end": os.getloadavg(),
            "targets": {"lost": 0, "server_errors_5xx": 0},
            "meets_targets": all(r["lost"] == 0 and r["server_errors_5xx"] == 0 for r in results.values()),
        },
    )


if __name__ == "__main__":
    main()
