"""Fresh by design: a camera frame is worth something only while it is fresh.

The system has a freshness budget (``EMOTION_FRESHNESS_SECONDS``, 2 s by default). The API
admits a frame only when the backlog ahead of it can be classified within the budget (its
expected wait: the queue depth over the workers' measured throughput), tells the page when
to send the next one (a longer interval as the queue fills), and refuses with 429 (backlog)
or 503 (no worker taking frames) and a ``Retry-After`` otherwise. The worker drops a frame
older than the budget as a counted stale gap (an observation with outcome ``stale``). Under
overload the system sheds frame rate instead of queueing.
"""

import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import redis
from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from .models import EmotionObservation, Outcome

QUEUE = "emotion"
# Throughput is what the workers stored over this many seconds (from the observations table,
# which every worker writes whatever the broker); the figures are reused for CACHE_SECONDS.
THROUGHPUT_WINDOW_SECONDS = 5.0
CACHE_SECONDS = 0.25
# With no frame stored in the window (an idle worker, or none running), up to this many frames
# per second of budget may wait: the first frames after a quiet spell must not be refused.
IDLE_ALLOWANCE_PER_SECOND = 5
# Fewer frames than this stored in the window (a worker just back from idle) measure no
# throughput: the idle allowance applies instead.
WARM_UP_FRAMES = 5
# The page keeps its normal rate while a new frame's expected wait is under EASY_LOAD of the
# budget (the workers keep up); beyond, its interval grows linearly, to (1 + SLOWDOWN) times
# the normal one at a full budget. All pages slow down alike, so under overload the offered
# rate settles where the workers keep up (at 2 frames/s, down to one frame every 5 s), every
# shopper keeps getting labels, and few frames meet a 429 (which would starve whoever meets it).
EASY_LOAD = 0.25
SLOWDOWN = 9.0


@dataclass(frozen=True)
class Backlog:
    depth: int  # frames waiting in the emotion queue
    throughput: float  # frames per second the workers stored recently

    @property
    def wait_seconds(self) -> float:
        """The expected wait of a frame queued now (infinite with a queue and no throughput)."""
        if self.depth == 0:
            return 0.0
        return self.depth / self.throughput if self.throughput > 0 else math.inf


@dataclass(frozen=True)
class Admission:
    accepted: bool
    next_frame_ms: int  # when the page should send its next frame
    status: int = 202
    code: str = ""
    reason: str = ""
    retry_after: int = 0


def admit(backlog: Backlog, budget: float, fps: float) -> Admission:
    """Whether a frame queued behind ``backlog`` would still be fresh when classified."""
    base_ms = 1000.0 / fps
    wait = backlog.wait_seconds
    if backlog.throughput == 0 and backlog.depth > IDLE_ALLOWANCE_PER_SECOND * budget:
        retry = max(1, math.ceil(budget))
        return Admission(
            False,
            retry * 1000,
            503,
            "no_worker",
            f"{backlog.depth} frames are waiting and no worker stored any for {THROUGHPUT_WINDOW_SECONDS:g} s.",
            retry,
        )
    if (
        backlog.throughput * THROUGHPUT_WINDOW_SECONDS < WARM_UP_FRAMES
        and backlog.depth <= IDLE_ALLOWANCE_PER_SECOND * budget
    ):
        # The workers just woke up: a frame or two stored in the window says nothing of their
        # speed (one frame in 5 s reads as 0.2 frames/s), so a short burst is let through.
        return Admission(True, round(base_ms))
    if backlog.throughput > 0 and wait > budget:
        retry = max(1, math.ceil(wait - budget))
        return Admission(
            False,
            retry * 1000,
            429,
            "backlog",
            f"The analysis is {wait:.1f} s behind; frames older than {budget:g} s are worthless.",
            retry,
        )
    load = min(1.0, wait / budget) if backlog.throughput > 0 else 0.0
    ramp = max(0.0, (load - EASY_LOAD) / (1 - EASY_LOAD))
    return Admission(True, round(base_ms * (1 + SLOWDOWN * ramp)))


_redis_clients: dict[str, redis.Redis] = {}
_cached: tuple[float, Backlog] | None = None
_lock = threading.Lock()


def broker_redis() -> redis.Redis | None:
    """A client of the broker's Redis (short timeouts: the API must not hang on it); None on the embedded broker."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return client


def queue_depth() -> int:
    """Frames waiting in the emotion queue of the configured broker (Redis or the embedded folder)."""
    client = broker_redis()
    if client is not None:
        return int(client.llen(QUEUE))
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    suffix = f".{QUEUE}.msg"
    try:
        with os.scandir(folder) as entries:
            return sum(1 for entry in entries if entry.name.endswith(suffix))
    except FileNotFoundError:
        return 0


def measured_throughput(window: float = THROUGHPUT_WINDOW_SECONDS) -> float:
    """Frames per second the workers classified over the last ``window`` seconds (stale drops excluded)."""
    since = timezone.now() - timedelta(seconds=window)
    done = EmotionObservation.objects.filter(created_at__gte=since).exclude(outcome=Outcome.STALE).count()
    return done / window


def current_backlog() -> Backlog:
    """The backlog, measured at most every ``CACHE_SECONDS`` per process. Redis errors propagate."""
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is not None and now - _cached[0] < CACHE_SECONDS:
            return _cached[1]
    backlog = Backlog(queue_depth(), measured_throughput())
    with _lock:
        _cached = (now, backlog)
    return backlog


def forget_backlog() -> None:
    """Drop the per-process measurement (tests; a changed broker)."""
    global _cached
    with _lock:
        _cached = None


def capture_interval_ms() -> int:
    """The page's normal interval between two frames (``EMOTION_CAPTURE_FPS``)."""
    return round(1000 / settings.EMOTION_CAPTURE_FPS)


def admission() -> Admission:
    """Admit or refuse a frame now; a broker that cannot be asked leaves the publish to decide."""
    try:
        backlog = current_backlog()
    except (RedisError, OSError):
        return Admission(True, capture_interval_ms())
    return admit(backlog, settings.EMOTION_FRESHNESS_SECONDS, settings.EMOTION_CAPTURE_FPS)


def is_stale(queued_at: float | None, now: float | None = None) -> bool:
    """Whether a frame queued at ``queued_at`` (Unix seconds) is older than the budget."""
    if queued_at is None:
        return False
    return (now if now is not None else time.time()) - queued_at > settings.EMOTION_FRESHNESS_SECONDS
