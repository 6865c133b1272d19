"""Offline experiments: CF models on public data, and the emotion blend on the simulated shop.

Every experiment splits off a per-user test hold-out first, tunes on a validation split carved
from the training part only, refits on the whole training part and reports test metrics once.
"""

from collections.abc import Sequence
from dataclasses import asdict
from itertools import product
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from recommender.ml.affect import AffectSignal, BlendedScorer, adjust_confidence, valence
from recommender.ml.cf import ALSParams, BPRParams, FactorModel, Popularity
from recommender.ml.metrics import evaluate, holdout_split, remove_pairs
from recommender.ml.simulate import Shop, observe
from recommender.ml.tuning import tune_blend, tune_cf

K = 10
TEST_FRACTION = 0.2

ALS_GRID: tuple[ALSParams, ...] = tuple(
    ALSParams(factors=factors, regularization=regularization, alpha=alpha, iterations=15)
    for factors, regularization, alpha in product((16, 32, 64, 128), (1.0, 10.0, 30.0), (2.0, 8.0, 32.0))
)
BPR_GRID: tuple[BPRParams, ...] = tuple(
    BPRParams(factors=factors, learning_rate=learning_rate, regularization=0.01, iterations=iterations)
    for factors, learning_rate, iterations in product((64, 128), (0.01, 0.05), (100, 300))
)
# The simulated shop has a dozen categories, so its taste matrix has a low rank.
SHOP_ALS_GRID: tuple[ALSParams, ...] = tuple(
    ALSParams(factors=factors, regularization=regularization, alpha=alpha, iterations=15)
    for factors, regularization, alpha in product((4, 8, 16, 32), (0.1, 1.0, 10.0), (1.0, 4.0))
)
# The untuned configuration behind the reference figures in the brief.
ALS_REFERENCE = ALSParams(factors=64, regularization=0.01, alpha=1.0, iterations=15)
BLEND_STRENGTHS: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0)
BLEND_WEIGHTS: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def cf_benchmark(
    confidence: csr_matrix,
    seed: int = 0,
    als_grid: Sequence[ALSParams] = ALS_GRID,
    bpr_grid: Sequence[BPRParams] = BPR_GRID,
) -> dict[str, Any]:
    """Popularity, reference ALS, tuned ALS and tuned BPR on one interaction matrix."""
    train, test = holdout_split(confidence, TEST_FRACTION, seed)
    fit, validation = holdout_split(train, TEST_FRACTION, seed + 1)
    als_params, als_trials = tune_cf(fit, validation, als_grid, seed, K)
    bpr_params, bpr_trials = tune_cf(fit, validation, bpr_grid, seed, K)
    models = {
        "popularity": Popularity(train),
        "als_reference": FactorModel.train(train, ALS_REFERENCE, seed),
        "als": FactorModel.train(train, als_params, seed),
        "bpr": FactorModel.train(train, bpr_params, seed),
    }
    return {
        "users": confidence.shape[0],
        "items": confidence.shape[1],
        "pairs": confidence.nnz,
        "test_pairs": test.nnz,
        "tuned": {"als": asdict(als_params), "bpr": asdict(bpr_params)},
        "test": {name: evaluate(model, train, test, K).summary() for name, model in models.items()},
        "validation_trials": {"als": als_trials, "bpr": bpr_trials},
    }


class EmotionBench:
    """The emotion experiment on one simulated shop: splits and CF tuning are shared by every
    classifier condition, so conditions differ only in the emotions the blend sees."""

    def __init__(self, shop: Shop, seed: int = 0, als_grid: Sequence[ALSParams] = SHOP_ALS_GRID) -> None:
        self.shop = shop
        self.seed = seed
        self.shape = shop.confidence.shape
        self.train, self.test = holdout_split(shop.confidence, TEST_FRACTION, seed, candidates=shop.purchases)
        train_purchases = remove_pairs(shop.purchases, self.test)
        self.fit, self.validation = holdout_split(self.train, TEST_FRACTION, seed + 1, candidates=train_purchases)
        self.params, self.als_trials = tune_cf(self.fit, self.validation, als_grid, seed, K)

    def baselines(self) -> dict[str, dict[str, float]]:
        """Popularity and plain CF (tuned ALS) on the held-out purchases."""
        cf = FactorModel.train(self.train, self.params, self.seed)
        return {
            "popularity": evaluate(Popularity(self.train), self.train, self.test, K).summary(),
            "cf": evaluate(cf, self.train, self.test, K).summary(),
        }

    def signal(self, confusion: NDArray[np.float64], shuffle: bool = False) -> AffectSignal:
        """Reactions as seen through ``confusion``; ``shuffle`` permutes them across pairs."""
        observed = observe(self.shop.true_seconds, confusion, self.seed)
        if shuffle:
            observed = np.random.default_rng(self.seed).permutation(observed)
        signal = AffectSignal.from_pairs(
            self.shop.pair_users, self.shop.pair_items, valence(observed), self.shape, self.shop.item_category
        )
        return signal.without(self.test)

    def blend(self, confusion: NDArray[np.float64], shuffle: bool = False) -> dict[str, Any]:
        """Tune the blend on validation, refit on training, report test metrics."""
        signal = self.signal(confusion, shuffle)
        choice = tune_blend(
            self.fit,
            self.validation,
            signal.without(self.validation),
            self.params,
            BLEND_STRENGTHS,
            BLEND_WEIGHTS,
            self.seed,
            K,
        )
        adjusted = adjust_confidence(self.train, signal.valence, choice.strength)
        model = FactorModel.train(adjusted, self.params, self.seed)
        scorer = BlendedScorer(model, signal, choice.weight)
        return {
            "strength": choice.strength,
            "weight": choice.weight,
            **evaluate(scorer, self.train, self.test, K).summary(),
            "validation_trials": choice.trials,
        }
