"""Collaborative-filtering models: typed wrappers around ``implicit`` plus a popularity baseline.

The wrappers pin what matters for reproducible, well-behaved training in a web app: CPU only,
an explicit thread count (``implicit`` otherwise grabs every core), single-threaded BLAS while
training (``implicit`` parallelises itself, BLAS threads on top only oversubscribe the cores),
a fixed random state and no progress bars. Everything downstream (evaluation, the emotion blend) only needs dense
scores, so models expose ``scores(userids)``.
"""

from dataclasses import asdict, dataclass

import implicit.als
import implicit.bpr
import numpy as np
from implicit.cpu.matrix_factorization_base import MatrixFactorizationBase
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class ALSParams:
    """Hyper-parameters of implicit's ALS; ``alpha`` scales the confidence matrix."""

    factors: int = 64
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15


@dataclass(frozen=True)
class BPRParams:
    """Hyper-parameters of implicit's BPR (it only uses which entries are non-zero)."""

    factors: int = 64
    learning_rate: float = 0.01
    regularization: float = 0.01
    iterations: int = 100


def _estimator(params: ALSParams | BPRParams, seed: int, num_threads: int) -> MatrixFactorizationBase:
    """The CPU implementation even where CUDA exists: the web workers have no GPU to rely on."""
    if isinstance(params, ALSParams):
        return implicit.als.AlternatingLeastSquares(
            **asdict(params), random_state=seed, num_threads=num_threads, use_gpu=False
        )
    return implicit.bpr.BayesianPersonalizedRanking(
        **asdict(params), random_state=seed, num_threads=num_threads, use_gpu=False
    )


class FactorModel:
    """A fitted matrix-factorisation model: score = user factor · item factor."""

    def __init__(self, estimator: MatrixFactorizationBase, params: ALSParams | BPRParams) -> None:
        self.estimator = estimator
        self.params = params

    @property
    def kind(self) -> str:
        """``"als"`` or ``"bpr"``."""
        return "als" if isinstance(self.params, ALSParams) else "bpr"

    @classmethod
    def untrained(cls, params: ALSParams | BPRParams, seed: int = 0, num_threads: int = 1) -> "FactorModel":
        """Model with the given parameters, ready to train or to receive saved factors."""
        with threadpool_limits(1, "blas"):
            return cls(_estimator(params, seed, num_threads), params)

    @classmethod
    def train(
        cls, user_items: csr_matrix, params: ALSParams | BPRParams, seed: int = 0, num_threads: int = 1
    ) -> "FactorModel":
        """Train on a user × item confidence matrix."""
        model = cls.untrained(params, seed, num_threads)
        with threadpool_limits(1, "blas"):
            model.estimator.fit(csr_matrix(user_items, dtype=np.float32), show_progress=False)
        return model

    @property
    def user_factors(self) -> NDArray[np.float32]:
        return self.estimator.user_factors

    @property
    def item_factors(self) -> NDArray[np.float32]:
        return self.estimator.item_factors

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.float32]:
        """Dense scores of every item for the given users."""
        return self.user_factors[userids] @ self.item_factors.T

    def recommend(
        self, userid: int, user_items: csr_matrix, n: int = 10, filter_seen: bool = True, fresh: bool = False
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-``n`` item indices and scores for one user, ``user_items`` being that user's row.

        ``fresh=True`` (ALS only) recomputes the user's factor from ``user_items`` first, so an
        interaction made a second ago counts without retraining the model.
        """
        ids, scores = self.estimator.recommend(
            userid, user_items, N=n, filter_already_liked_items=filter_seen, recalculate_user=fresh
        )
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)

    def recalculate(self, user_items: csr_matrix) -> NDArray[np.float32]:
        """Factors for the given user rows, computed but not stored (ALS only).

        Serving reads the shared model and must not grow or mutate it per request, unlike
        ``fold_in``; one row costs one small least-squares solve.
        """
        rows = csr_matrix(user_items, dtype=np.float32)
        factors = self.estimator.recalculate_user(np.arange(rows.shape[0]), rows)
        return np.atleast_2d(np.asarray(factors, dtype=np.float32))

    def fold_in(self, userids: NDArray[np.int64], user_items: csr_matrix) -> None:
        """Store recomputed factors for (possibly new) users from their rows (ALS only)."""
        self.estimator.partial_fit_users(userids, user_items)

    def similar_items(self, itemid: int, n: int = 10) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``n`` items with the most similar factors (cosine), the item itself included."""
        ids, scores = self.estimator.similar_items(itemid, N=n)
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)


class Popularity:
    """Recommends the items most users interacted with: the baseline any model must beat."""

    def __init__(self, user_items: csr_matrix) -> None:
        self.counts = np.asarray((user_items > 0).sum(axis=0), dtype=np.float32).ravel()

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.float32]:
        """Same item counts for every user."""
        return np.broadcast_to(self.counts, (len(userids), len(self.counts)))
