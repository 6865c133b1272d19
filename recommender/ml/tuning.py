"""Hyper-parameter and blend-weight selection on a validation split carved from training data.

The test hold-out is never looked at here. Validation pairs are removed from the fitting data
exactly as test pairs are removed from training, so the tuned values transfer.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from recommender.ml.affect import AffectShares, AffectSignal, BlendedScorer, adjust_confidence
from recommender.ml.cf import ALSParams, BPRParams, FactorModel
from recommender.ml.metrics import evaluate
from recommender.ml.ranking import Scorer

P = TypeVar("P", ALSParams, BPRParams)

# A blend must beat plain CF on validation by this many standard errors of the paired per-user
# NDCG difference; otherwise noise alone could pick a non-zero weight for a useless signal.
MIN_Z = 2.0


def tune_cf(
    fit: csr_matrix, validation: csr_matrix, grid: Sequence[P], seed: int = 0, k: int = 10
) -> tuple[P, list[dict[str, Any]]]:
    """Pick the parameters with the best validation NDCG@k; also return every trial."""
    trials = []
    for params in grid:
        model = FactorModel.train(fit, params, seed)
        trials.append({"params": asdict(params), **evaluate(model, fit, validation, k).summary()})
    best = max(range(len(grid)), key=lambda index: trials[index]["ndcg"])
    return grid[best], trials


def significantly_better(candidate: NDArray[np.float64], baseline: NDArray[np.float64], min_z: float = MIN_Z) -> bool:
    """Whether the mean paired per-user gain exceeds ``min_z`` standard errors."""
    gain = candidate - baseline
    if len(gain) < 2:
        return False
    error = gain.std(ddof=1) / np.sqrt(len(gain))
    return bool(gain.mean() > min_z * error) if error > 0 else bool(gain.mean() > 0)


@dataclass(frozen=True)
class BlendChoice:
    """Chosen confidence strength and re-ranking weight, with the validation trials."""

    strength: float
    weight: float
    trials: list[dict[str, float]]


def tune_blend(
    fit: csr_matrix,
    validation: csr_matrix,
    signal: AffectSignal,
    fit_scorer: Callable[[csr_matrix], Scorer],
    strengths: Sequence[float],
    weights: Sequence[float],
    k: int = 10,
    shares: AffectShares | None = None,
) -> BlendChoice:
    """Grid-search (confidence strength, re-ranking weight) for NDCG@k on ``validation``.

    ``fit_scorer`` fits the engine on a (reaction-adjusted) confidence matrix and returns its
    scorer, once per strength. ``signal`` must not contain the validation pairs. The grids must
    include 0: the best cell is kept only if it is significantly better than (0, 0), plain CF.
    """
    if 0 not in strengths or 0 not in weights:
        raise ValueError("both grids must contain 0 (plain CF)")
    trials: list[dict[str, float]] = []
    per_user: dict[tuple[float, float], NDArray[np.float64]] = {}
    for strength in strengths:
        model = fit_scorer(adjust_confidence(fit, signal.valence, strength))
        for weight in weights:
            scorer = BlendedScorer(model, signal, weight, shares)
            scores = evaluate(scorer, fit, validation, k)
            per_user[strength, weight] = scores.ndcg
            trials.append({"strength": strength, "weight": weight, **scores.summary()})
    best = max(per_user, key=lambda cell: per_user[cell].mean())
    if not significantly_better(per_user[best], per_user[0, 0]):
        best = (0, 0)
    return BlendChoice(float(best[0]), float(best[1]), trials)
