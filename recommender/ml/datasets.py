"""Loaders for the public implicit-feedback data sets used to benchmark the CF models.

The files stay where they are (research data is never copied into the repository); the
loaders return the same ``InteractionMatrix`` the shop builds from its own log.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from recommender.ml.matrix import (
    CART,
    PURCHASE,
    VIEW,
    ConfidenceWeights,
    Event,
    IdIndex,
    InteractionMatrix,
    build_matrix,
    from_pairs,
    latest_pairs,
)

DATASETS_DIR: Final[Path] = Path("/work/shared/datasets")
RETAILROCKET_FILES: Final[dict[str, str]] = {
    VIEW: "view_ecommerce.dat",
    CART: "add_to_cart_ecommerce.dat",
    PURCHASE: "purchase_ecommerce.dat",
}


def _retailrocket_events(directory: Path) -> Iterator[Event]:
    for kind, name in RETAILROCKET_FILES.items():
        with (directory / name).open() as handle:
            next(handle)  # header: visitorid itemid event
            for line in handle:
                visitor, item, _ = line.split("\t")
                yield Event(int(visitor), int(item), kind)


def load_retailrocket(
    directory: Path = DATASETS_DIR / "retailrocket", weights: ConfidenceWeights | None = None
) -> InteractionMatrix:
    """RetailRocket (Fortes' filtered version): views, add-to-carts and purchases per visitor.

    The files carry no dwell time, so every view counts the base view weight.
    """
    return build_matrix(_retailrocket_events(directory), weights)


def load_movielens(path: Path = DATASETS_DIR / "movielens-100k" / "u.data", min_rating: int = 4) -> InteractionMatrix:
    """MovieLens-100k ratings of at least ``min_rating`` as positives with confidence 1.

    Rows of user 0 are dropped (the copy here carries a few such rows, not part of the
    official data, where users are numbered from 1).
    """
    users, items = IdIndex(), IdIndex()
    rows, cols = [], []
    with Path(path).open() as handle:
        for line in handle:
            user, item, rating = (int(field) for field in line.split()[:3])
            if user != 0 and rating >= min_rating:
                rows.append(users.add(user))
                cols.append(items.add(item))
    shape = (len(users), len(items))
    matrix = from_pairs(np.asarray(rows), np.asarray(cols), np.ones(len(rows)), shape)
    matrix.data[:] = 1.0  # a (user, item) pair rated twice is still one positive
    return InteractionMatrix(matrix, users, items)


EVENT_KINDS: Final[frozenset[str]] = frozenset({VIEW, CART, PURCHASE})


def _timestamp(text: str) -> float:
    """Unix seconds, or an ISO 8601 date-time (UTC when it names no zone)."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def load_tsv(path: Path, weights: ConfidenceWeights | None = None) -> InteractionMatrix:
    """Interactions from a tab-separated file: ``user  item  event-or-weight  [timestamp]``.

    The third column is an event kind (``view``, ``cart``, ``purchase``: weighted as the shop
    weighs them, views without dwell time) or a positive number used as the confidence as it
    is; rows of the same (user, item) add up. The optional fourth column is Unix seconds or an
    ISO 8601 date-time and enables time-based splits. A first line whose third column is
    neither (e.g. ``user item event timestamp``) is a header; ``#`` lines are comments.
    Malformed rows raise ``ValueError`` naming the line.
    """
    weights = weights or ConfidenceWeights()
    users, items = IdIndex(), IdIndex()
    rows, cols, values, times = [], [], [], []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n\r")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) not in (3, 4):
                raise ValueError(f"{path}:{number}: expected 3 or 4 tab-separated columns, got {len(fields)}")
            user, item, signal = fields[0].strip(), fields[1].strip(), fields[2].strip()
            try:
                value = weights.confidence(signal) if signal in EVENT_KINDS else float(signal)
                at = _timestamp(fields[3].strip()) if len(fields) == 4 and fields[3].strip() else np.nan
            except ValueError as exc:
                if number == 1 and not rows:
                    continue  # header
                raise ValueError(f"{path}:{number}: {exc}") from exc
            if not value > 0 or not np.isfinite(value):
                raise ValueError(f"{path}:{number}: weight must be a positive number, got {signal!r}")
            rows.append(users.add(user))
            cols.append(items.add(item))
            values.append(value)
            times.append(at)
    if not rows:
        raise ValueError(f"{path}: no interactions")
    shape = (len(users), len(items))
    row_array, col_array = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    matrix = from_pairs(row_array, col_array, np.asarray(values), shape)
    time_array = np.asarray(times, dtype=np.float64)
    last_seen = None
    if not np.isnan(time_array).all():
        last_seen = latest_pairs(row_array, col_array, np.nan_to_num(time_array, nan=-np.inf), shape)
    return InteractionMatrix(matrix, users, items, last_seen)
