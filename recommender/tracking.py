"""Impressions and clicks, logged cheaply, and the attribution of carts and purchases to them.

A panel request only appends to an in-process buffer (microseconds); the buffer is written
in bulk, by a background thread every ``RECOMMENDER_IMPRESSION_FLUSH_SECONDS`` or by the
request that fills it to ``RECOMMENDER_IMPRESSION_BATCH``, and when the process exits. A
process killed outright loses at most that interval of impressions: acceptable for
statistics, never for orders (which the shop writes itself).

Repeated showings (the panels refresh while visible): a list is identified by its shopper,
panel, product page, arm and ordered items; shown again within
``RECOMMENDER_IMPRESSION_REPEAT_MINUTES`` of its first showing it keeps its id (kept in the
shared cache, and in the process's memory to spare the round trip) and adds one to its
``shown_count``, so one impression is one distinct list, however often it was refreshed.

Attribution: a click names its list and position (the link carries them). An add-to-cart
or purchase of a product is attributed to the shopper's latest click on that product in
the ``RECOMMENDER_ATTRIBUTION_HOURS`` before it (last click wins); nothing is attributed
without a click.
"""

import atexit
import hashlib
import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from redis.exceptions import RedisError

from shop.models import Interaction

from .models import Click, ImpressionList

logger = logging.getLogger(__name__)


@dataclass
class _Shown:
    fields: dict[str, Any]
    first: datetime
    last: datetime
    times: int = 1


@dataclass
class Buffer:
    """Lists and clicks waiting for their bulk write."""

    shown: dict[uuid.UUID, _Shown] = field(default_factory=dict)
    clicks: list[Click] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self.shown) + len(self.clicks)


_buffer = Buffer()


def _signature(shopper_id: uuid.UUID, panel: str, context: int | None, variant: str, items: list[int]) -> str:
    return hashlib.blake2b(f"{shopper_id}|{panel}|{context}|{variant}|{items}".encode(), digest_size=12).hexdigest()


def record_list(
    *,
    shopper_id: uuid.UUID,
    user_id: int | None,
    panel: str,
    items: list[int],
    variant: str,
    context_product_id: int | None = None,
    experiment_id: int | None = None,
    arm: int | None = None,
    teams: list[int] | None = None,
) -> uuid.UUID:
    """The id of this list (new, or the same list shown again), queued for the database."""
    now = timezone.now()
    signature = _signature(shopper_id, panel, context_product_id, f"{experiment_id}:{arm}:{variant}", items)
    list_id = _list_id(signature, now)
    with _buffer.lock:
        queued = _buffer.shown.get(list_id)
        if queued is None:
            fields = {
                "shopper_id": shopper_id,
                "user_id": user_id,
                "panel": panel,
                "context_product_id": context_product_id,
                "experiment_id": experiment_id,
                "arm": arm,
                "variant": variant,
                "items": items,
                "teams": teams or [],
            }
            _buffer.shown[list_id] = _Shown(fields, now, now)
        else:
            queued.times += 1
            queued.last = now
    _after_append()
    return list_id


# Lists this process has seen lately: signature -> (list id, first shown). Only facts that never
# change are kept, so a stale entry cannot disagree with the shared cache; bounded by clearing.
_seen: dict[str, tuple[uuid.UUID, datetime]] = {}
SEEN_MAX = 100_000


def _list_id(signature: str, now: datetime) -> uuid.UUID:
    """The id of the list first shown with this signature within the repeat window, or a new one.

    This process's memory first (a refreshing panel usually comes back to the same process:
    no round trip), then the shared cache, where ``add`` lets one process win a race.
    """
    window = timedelta(minutes=settings.RECOMMENDER_IMPRESSION_REPEAT_MINUTES)
    known = _seen.get(signature)
    if known is not None and now - known[1] < window:
        return known[0]
    key = f"recommender:shown:{signature}"
    candidate = (uuid.uuid4(), now)
    timeout = int(window.total_seconds())
    try:
        if not cache.add(key, candidate, timeout):
            shared = cache.get(key)
            if shared is not None and now - shared[1] < window:
                candidate = shared
            else:  # expired between the two calls: this showing starts the list anew
                cache.set(key, candidate, timeout)
    except (RedisError, OSError) as exc:  # the panel must answer without the cache
        logger.warning("Cache unavailable for impression de-duplication (%s); counting a new list", exc)
    if len(_seen) >= SEEN_MAX:
        _seen.clear()
    _seen[signature] = candidate
    return candidate[0]


def record_click(list_id: uuid.UUID, position: int, shopper_id: uuid.UUID) -> None:
    with _buffer.lock:
        _buffer.clicks.append(Click(list_id=list_id, position=position, shopper_id=shopper_id))
    _after_append()


def _after_append() -> None:
    if len(_buffer) >= settings.RECOMMENDER_IMPRESSION_BATCH:
        flush()
    elif settings.RECOMMENDER_IMPRESSION_FLUSH_SECONDS > 0 and _buffer.thread is None:
        _start_flusher()


def flush() -> int:
    """Write what the buffer holds in a few statements; the number of lists and clicks written."""
    with _buffer.lock:
        shown, clicks = _buffer.shown, _buffer.clicks
        _buffer.shown, _buffer.clicks = {}, []
    if not shown and not clicks:
        return 0
    # Insert the new lists (a list already written keeps its row), then add this batch's showings.
    rows = [
        ImpressionList(id=list_id, shown_count=0, first_shown_at=q.first, last_shown_at=q.last, **q.fields)
        for list_id, q in shown.items()
    ]
    ImpressionList.objects.bulk_create(rows, ignore_conflicts=True)
    by_times: dict[int, list[uuid.UUID]] = defaultdict(list)
    for list_id, queued in shown.items():
        by_times[queued.times].append(list_id)
    for times, ids in by_times.items():
        latest = max(shown[list_id].last for list_id in ids)
        ImpressionList.objects.filter(pk__in=ids).update(
            shown_count=F("shown_count") + times, last_shown_at=Greatest("last_shown_at", latest)
        )
    Click.objects.bulk_create(clicks)
    return len(shown) + len(clicks)


def _flush_forever() -> None:
    while True:
        time.sleep(settings.RECOMMENDER_IMPRESSION_FLUSH_SECONDS)
        try:
            close_old_connections()
            flush()
        except Exception:  # the next round retries; a broken database must not kill the thread
            logger.exception("Writing recommendation impressions failed.")


def _start_flusher() -> None:
    with _buffer.lock:
        if _buffer.thread is None:
            _buffer.thread = threading.Thread(target=_flush_forever, name="impression-flusher", daemon=True)
            _buffer.thread.start()


def _flush_at_exit() -> None:
    try:
        flush()
        connection.close()
    except Exception:
        logger.exception("Writing the last recommendation impressions failed.")


atexit.register(_flush_at_exit)


# --- Attribution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attributed:
    list_id: uuid.UUID
    position: int
    product_id: int
    kind: str
    at: datetime


def clicked_products(lists: dict[uuid.UUID, ImpressionList], clicks: list[Click]) -> list[tuple[Click, int]]:
    """Each valid click with the product it names: by the list's own shopper, at a position it showed."""
    valid = []
    for click in clicks:
        shown = lists.get(click.list_id)
        if shown is not None and shown.shopper_id == click.shopper_id and 0 <= click.position < len(shown.items):
            valid.append((click, int(shown.items[click.position])))
    return valid


def attribute(lists: dict[uuid.UUID, ImpressionList], clicks: list[Click]) -> list[Attributed]:
    """Carts and purchases that followed a click on the same product within the attribution window (last click wins)."""
    window = timedelta(hours=settings.RECOMMENDER_ATTRIBUTION_HOURS)
    by_key: dict[tuple[uuid.UUID, int], list[Click]] = defaultdict(list)
    for click, product_id in clicked_products(lists, clicks):
        by_key[(click.shopper_id, product_id)].append(click)
    if not by_key:
        return []
    for group in by_key.values():
        group.sort(key=lambda c: c.created_at)
    shoppers = {shopper for shopper, _ in by_key}
    products = {product for _, product in by_key}
    outcomes = Interaction.objects.filter(
        shopper_id__in=shoppers,
        product_id__in=products,
        kind__in=[Interaction.Kind.CART, Interaction.Kind.PURCHASE],
    ).values_list("shopper_id", "product_id", "kind", "created_at")
    attributed = []
    for shopper_id, product_id, kind, at in outcomes:
        before = [c for c in by_key.get((shopper_id, product_id), []) if at - window <= c.created_at <= at]
        if before:
            click = before[-1]
            attributed.append(Attributed(click.list_id, click.position, product_id, kind, at))
    return attributed


def discard() -> None:
    """Drop what is waiting unwritten and the lists remembered (tests start each case afresh)."""
    with _buffer.lock:
        _buffer.shown, _buffer.clicks = {}, []
    _seen.clear()
