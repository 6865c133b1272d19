"""Turning per-item scores into top-k lists, shared by every model and by the emotion blend."""

from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix


class Scorer(Protocol):
    """Anything that scores every catalog item for a batch of users."""

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.floating]:
        """Dense ``(len(userids), n_items)`` scores; higher means recommend sooner."""
        ...


def top_k(scores: NDArray[np.floating], exclude: csr_matrix | None, k: int) -> NDArray[np.int64]:
    """Indices of the ``k`` best items per row, best first, skipping items stored in ``exclude``.

    ``exclude`` has one row per score row (typically the users' training interactions, since
    re-recommending what a shopper already bought is rarely useful).
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def recommend_all(
    scorer: Scorer, userids: NDArray[np.int64], exclude: csr_matrix, k: int, batch_size: int = 512
) -> NDArray[np.int64]:
    """Top-k lists for many users, scored in batches to bound memory on large catalogs."""
    lists = [
        top_k(scorer.scores(batch), exclude[batch], k)
        for batch in np.array_split(userids, max(1, -(-len(userids) // batch_size)))
        if len(batch)
    ]
    return np.vstack(lists) if lists else np.empty((0, k), dtype=np.int64)
