"""Ranking metrics on a per-user hold-out.

Precision@k is hits / k, recall@k is hits / |held-out items|, NDCG@k uses binary relevance
with a 1 / log2(rank + 1) discount normalised by the best possible ordering of the user's
held-out items, MAP@k averages precision at each hit's rank over min(|held-out|, k). Catalog
coverage is the share of items appearing in at least one top-k list, and novelty the mean
self-information -log2(share of training users who interacted with the item) of the
recommended items: both expose models that recommend the same bestsellers to everybody.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from recommender.ml.ranking import Scorer, recommend_all


def holdout_split(
    matrix: csr_matrix,
    fraction: float = 0.2,
    seed: int = 0,
    candidates: csr_matrix | None = None,
    min_items: int = 2,
) -> tuple[csr_matrix, csr_matrix]:
    """Move a random ``fraction`` of each user's items into a binary test matrix.

    Only pairs stored in ``candidates`` (default: all of ``matrix``) may be held out, e.g.
    purchases only. A held-out pair leaves training entirely (views and carts included), so a
    model is never credited for recommending something it saw. Users with fewer than
    ``min_items`` items keep everything in training, and each user keeps at least one item.
    """
    candidates = matrix if candidates is None else candidates
    rng = np.random.default_rng(seed)
    test_rows: list[NDArray[np.int64]] = []
    test_cols: list[NDArray[np.int64]] = []
    for user in range(matrix.shape[0]):
        owned = matrix.indptr[user + 1] - matrix.indptr[user]
        pool = candidates.indices[candidates.indptr[user] : candidates.indptr[user + 1]]
        if owned < min_items or len(pool) == 0:
            continue
        n_test = min(max(1, round(fraction * len(pool))), owned - 1)
        test_cols.append(rng.choice(pool, size=n_test, replace=False).astype(np.int64))
        test_rows.append(np.full(n_test, user, dtype=np.int64))
    rows = np.concatenate(test_rows) if test_rows else np.empty(0, dtype=np.int64)
    cols = np.concatenate(test_cols) if test_cols else np.empty(0, dtype=np.int64)
    test = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=matrix.shape)
    return remove_pairs(matrix, test), test


def time_split(
    matrix: csr_matrix,
    last_seen: csr_matrix,
    fraction: float = 0.2,
    seed: int = 0,
    min_items: int = 2,
) -> tuple[csr_matrix, csr_matrix]:
    """Move each user's latest ``fraction`` of items (by ``last_seen``) into a binary test matrix.

    ``last_seen`` has the pattern of ``matrix`` and holds each pair's latest timestamp; equal
    timestamps are ordered at random (``seed``). Otherwise as ``holdout_split``: whole pairs
    move, users with fewer than ``min_items`` items keep everything, everyone keeps one item.
    """
    rng = np.random.default_rng(seed)
    last_seen = csr_matrix(last_seen)
    last_seen.sort_indices()
    matrix = csr_matrix(matrix)
    matrix.sort_indices()
    test_rows: list[NDArray[np.int64]] = []
    test_cols: list[NDArray[np.int64]] = []
    for user in range(matrix.shape[0]):
        start, end = last_seen.indptr[user], last_seen.indptr[user + 1]
        owned = end - start
        if owned < min_items:
            continue
        n_test = min(max(1, round(fraction * owned)), owned - 1)
        times = last_seen.data[start:end]
        order = np.lexsort((rng.random(owned), -times))  # latest first, ties at random
        test_cols.append(last_seen.indices[start:end][order[:n_test]].astype(np.int64))
        test_rows.append(np.full(n_test, user, dtype=np.int64))
    rows = np.concatenate(test_rows) if test_rows else np.empty(0, dtype=np.int64)
    cols = np.concatenate(test_cols) if test_cols else np.empty(0, dtype=np.int64)
    test = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=matrix.shape)
    return remove_pairs(matrix, test), test


def remove_pairs(matrix: csr_matrix, pairs: csr_matrix) -> csr_matrix:
    """``matrix`` without the (user, item) entries stored in ``pairs``."""
    kept = matrix - matrix.multiply(pairs.astype(bool))
    kept.eliminate_zeros()
    return csr_matrix(kept)


@dataclass(frozen=True)
class UserScores:
    """Per-user metrics for the users that have held-out items (kept for paired comparisons)."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    ndcg: NDArray[np.float64]
    coverage: float
    average_precision: NDArray[np.float64] | None = None
    novelty: float = 0.0

    def summary(self) -> dict[str, float]:
        """Means over users, plus catalog coverage and novelty."""

        def mean(values: NDArray[np.float64] | None) -> float:
            return float(values.mean()) if values is not None and len(values) else 0.0

        return {
            "precision": mean(self.precision),
            "recall": mean(self.recall),
            "ndcg": mean(self.ndcg),
            "map": mean(self.average_precision),
            "coverage": self.coverage,
            "novelty": self.novelty,
            "users": len(self.ndcg),
        }


def self_information(train: csr_matrix) -> NDArray[np.float64]:
    """-log2 of each item's share of users in ``train`` (an item nobody touched counts as one user)."""
    users = np.asarray((train > 0).sum(axis=0), dtype=np.float64).ravel()
    return -np.log2(np.maximum(users, 1.0) / max(train.shape[0], 1))


def score_lists(
    recommended: NDArray[np.int64], test: csr_matrix, n_items: int, information: NDArray[np.float64] | None = None
) -> UserScores:
    """Metrics of top-k lists (row r belongs to test row r) against the held-out items.

    Hand-written rather than scikit-learn's ``ndcg_score``/``precision_score``: those take
    dense (users x items) score and relevance matrices, which at 10k x 50k would cost gigabytes
    and most of the time; here each user reads only their k recommendations and the few
    held-out items of their sparse test row.
    """
    k = recommended.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ranks = np.arange(1, k + 1)
    precision, recall, ndcg, average_precision = [], [], [], []
    for row, items in enumerate(recommended):
        relevant = test.indices[test.indptr[row] : test.indptr[row + 1]]
        hits = np.isin(items, relevant)
        precision.append(hits.sum() / k)
        recall.append(hits.sum() / len(relevant))
        ndcg.append((hits * discounts).sum() / discounts[: min(len(relevant), k)].sum())
        average_precision.append((hits * np.cumsum(hits) / ranks).sum() / min(len(relevant), k))
    coverage = len(np.unique(recommended)) / n_items if n_items else 0.0
    novelty = float(information[recommended].mean()) if information is not None and recommended.size else 0.0
    return UserScores(
        np.array(precision), np.array(recall), np.array(ndcg), coverage, np.array(average_precision), novelty
    )


def evaluate(scorer: Scorer, train: csr_matrix, test: csr_matrix, k: int = 10) -> UserScores:
    """Rank every unseen item for each user with held-out items and score the top ``k``."""
    users = np.flatnonzero(np.diff(test.indptr)).astype(np.int64)
    recommended = recommend_all(scorer, users, train, k)
    return score_lists(recommended, test[users], train.shape[1], self_information(train))
