"""Receipts: what a 202 promises, kept even when the broker loses a frame.

Redis hands a message to a worker with BRPOP, which removes it from the queue before the
worker has written it to its "unacknowledged" set (kombu's Redis transport): a worker
killed in between loses the message (celery/kombu#305). ``benchmarks/bench_faults.py``
measured 7 frames lost in 10 SIGKILLs. So the API writes a receipt for every frame it
accepts (view, sequence, capture time, consent) into the broker's Redis, with the same
append-only persistence as the queue, before it queues the frame; the worker settles it
once the frame's outcome is written (an observation, or a count of dropped frames), and
``settle_lost_frames`` (beat) gives a receipt still open after ``LOST_AFTER_SECONDS`` the
outcome a redelivered frame would have had by then: a ``stale`` gap. A receipt holds no
pixel, only what the observation row itself will hold.

On the embedded broker there is no shared Redis: no receipts (the README says what a 202
promises there).
"""

import hashlib
import json
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from .freshness import broker_redis

KEY = "emotion:receipts"
CLAIMED = "emotion:dropped"  # one marker per frame counted as dropped (see ``claim``)
CLAIM_SECONDS = 24 * 3600
# Past the visibility timeout (30 s), kombu's restore interval and a retry or two: a frame
# still unsettled by then will not be classified within its freshness budget any more.
LOST_AFTER_SECONDS = 90.0


@dataclass(frozen=True)
class Receipt:
    view_pk: int
    sequence: int
    consent_pk: int
    captured_at: datetime
    queued_at: float
    key_print: str  # fingerprint of the consent's frame key when queued: an erasure since changes it


def key_print(key: bytes) -> str:
    """A one-way fingerprint of a frame key: tells whether the key changed, reveals nothing of it."""
    return hashlib.sha256(b"moodshop-receipt:" + bytes(key)).hexdigest()[:16]


def _field(view_pk: int, sequence: int) -> str:
    return f"{view_pk}:{sequence}"


def issue(view_pk: int, sequence: int, consent_pk: int, key: bytes, captured_at: datetime, queued_at: float) -> None:
    """Record an accepted frame before it is queued; raises RedisError when Redis is unreachable."""
    client = broker_redis()
    if client is None:
        return
    value = json.dumps({"k": consent_pk, "f": key_print(key), "c": captured_at.isoformat(), "q": queued_at})
    client.hset(KEY, _field(view_pk, sequence), value)


def settle(view_pk: int, sequence: int) -> None:
    """The frame's outcome is written: forget its receipt (a missed one is settled by the sweep)."""
    client = broker_redis()
    if client is None:
        return
    with suppress(RedisError):
        client.hdel(KEY, _field(view_pk, sequence))


def claim(view_pk: int, sequence: int) -> bool:
    """Settle the frame for good and say whether this call was the first to (to count it once).

    A marker outlives the receipt by a day, longer than any redelivery; True without Redis,
    or when it is unreachable (better a frame counted twice than not at all).
    """
    client = broker_redis()
    if client is None:
        return True
    field = _field(view_pk, sequence)
    try:
        first = client.set(f"{CLAIMED}:{field}", 1, nx=True, ex=CLAIM_SECONDS)
        client.hdel(KEY, field)
    except RedisError:
        return True
    return bool(first)


def overdue(older_than: float | None = None) -> list[Receipt]:
    """Receipts queued more than ``older_than`` (default ``LOST_AFTER_SECONDS``) seconds ago and still open."""
    client = broker_redis()
    if client is None:
        return []
    cutoff = time.time() - (LOST_AFTER_SECONDS if older_than is None else older_than)
    found = []
    for field, value in client.hscan_iter(KEY, count=500):
        view_pk, sequence = (int(part) for part in field.decode().split(":"))
        data = json.loads(value)
        if data["q"] <= cutoff:
            captured = datetime.fromisoformat(data["c"])
            found.append(Receipt(view_pk, sequence, data["k"], captured, data["q"], data["f"]))
    return found


def open_count() -> int:
    """Receipts not settled yet (for the benchmarks and monitoring)."""
    client = broker_redis()
    return int(client.hlen(KEY)) if client is not None else 0
