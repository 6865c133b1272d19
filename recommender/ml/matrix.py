"""User × item confidence matrix built from shop events.

Implicit-feedback models need one number per (shopper, product): how sure we are that the
shopper is interested. Events of the same pair add up, so a product that was viewed at length,
put in the cart and bought ends up far more confident than a single glance.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

VIEW, CART, PURCHASE = "view", "cart", "purchase"


class Event(NamedTuple):
    """One interaction; ``dwell_seconds`` only matters for views, ``at`` is a Unix timestamp."""

    user: Hashable
    item: Hashable
    kind: str
    dwell_seconds: float | None = None
    at: float | None = None


@dataclass(frozen=True)
class ConfidenceWeights:
    """Confidence added by each event kind.

    A view is worth ``view + log1p(dwell / dwell_scale_seconds)``: dwell time separates a
    glance from reading the page, but logarithmically so that a tab left open for an hour does
    not outweigh a purchase. Carts and purchases are explicit intent and get fixed, larger
    weights. The model's own ``alpha`` then scales the whole matrix.
    """

    view: float = 1.0
    dwell_scale_seconds: float = 10.0
    cart: float = 4.0
    purchase: float = 8.0

    def confidence(self, kind: str, dwell_seconds: float | None = None) -> float:
        """Confidence contributed by one event of ``kind``."""
        if kind == VIEW:
            return float(self.views(np.array([dwell_seconds or 0.0]))[0])
        if kind == CART:
            return self.cart
        if kind == PURCHASE:
            return self.purchase
        raise ValueError(f"unknown event kind {kind!r}")

    def views(self, dwell_seconds: NDArray[np.floating]) -> NDArray[np.float64]:
        """Vectorised view confidence for an array of dwell times (negative dwell counts as 0)."""
        dwell = np.maximum(np.asarray(dwell_seconds, dtype=np.float64), 0.0)
        return self.view + np.log1p(dwell / self.dwell_scale_seconds)


class IdIndex:
    """Bidirectional map between external ids (database keys) and dense matrix indices."""

    def __init__(self, ids: Iterable[Hashable] = ()) -> None:
        self._ids: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        for external in ids:
            self.add(external)

    def add(self, external: Hashable) -> int:
        """Index of ``external``, appending it when it is new."""
        index = self._index.get(external)
        if index is None:
            index = self._index[external] = len(self._ids)
            self._ids.append(external)
        return index

    def index(self, external: Hashable) -> int:
        """Index of a known id; ``KeyError`` for an unknown one."""
        return self._index[external]

    def __contains__(self, external: object) -> bool:
        return external in self._index

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> Sequence[Hashable]:
        """External ids in index order."""
        return tuple(self._ids)


@dataclass(frozen=True)
class InteractionMatrix:
    """A CSR confidence matrix together with the id maps of its rows and columns.

    ``last_seen`` (same pattern as ``confidence``) holds each pair's latest timestamp when the
    events carried one, for time-based hold-outs (each shopper's latest interactions).
    """

    confidence: csr_matrix
    users: IdIndex
    items: IdIndex
    last_seen: csr_matrix | None = None


def build_matrix(
    events: Iterable[Event],
    weights: ConfidenceWeights | None = None,
    users: IdIndex | None = None,
    items: IdIndex | None = None,
) -> InteractionMatrix:
    """Sum event confidences per (user, item) into a CSR matrix.

    Pass existing ``users``/``items`` indices to keep indices stable across rebuilds (new ids
    are appended); the matrix is sized to the indices, so catalog items nobody touched yet can
    be included by pre-registering them.
    """
    weights = weights or ConfidenceWeights()
    users = users if users is not None else IdIndex()
    items = items if items is not None else IdIndex()
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    times: list[float] = []
    for event in events:
        rows.append(users.add(event.user))
        cols.append(items.add(event.item))
        values.append(weights.confidence(event.kind, event.dwell_seconds))
        times.append(np.nan if event.at is None else float(event.at))
    shape = (len(users), len(items))
    row_array, col_array = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    matrix = from_pairs(row_array, col_array, np.asarray(values), shape)
    time_array = np.asarray(times, dtype=np.float64)
    last_seen = None
    if len(time_array) and not np.isnan(time_array).all():
        last_seen = latest_pairs(row_array, col_array, np.nan_to_num(time_array, nan=-np.inf), shape)
    return InteractionMatrix(matrix, users, items, last_seen)


def latest_pairs(
    rows: NDArray[np.int64], cols: NDArray[np.int64], times: NDArray[np.float64], shape: tuple[int, int]
) -> csr_matrix:
    """CSR float64 matrix of the latest time per (row, col) pair (events without one: earliest)."""
    order = np.lexsort((cols, rows))
    rows, cols, times = rows[order], cols[order], times[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    starts = np.flatnonzero(first)
    latest = np.maximum.reduceat(times, starts) if len(starts) else times
    latest = np.where(np.isfinite(latest), latest, np.nanmin(latest[np.isfinite(latest)], initial=0.0))
    # a stored 0 would vanish from the sparse pattern: shift so every time is positive
    latest = latest - min(float(latest.min()), 0.0) + 1.0
    return csr_matrix((latest, (rows[starts], cols[starts])), shape=shape)


def from_pairs(
    rows: NDArray[np.int64], cols: NDArray[np.int64], values: NDArray[np.floating], shape: tuple[int, int]
) -> csr_matrix:
    """CSR float32 matrix from index arrays, summing duplicate pairs."""
    matrix = csr_matrix((np.asarray(values, dtype=np.float32), (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix
