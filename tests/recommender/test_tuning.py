from dataclasses import asdict

import numpy as np

from recommender.ml.affect import AffectSignal
from recommender.ml.cf import ALSParams, BPRParams, FactorModel
from recommender.ml.evaluate import EmotionBench, cf_benchmark
from recommender.ml.simulate import ShopConfig, simulate_shop
from recommender.ml.tuning import significantly_better, tune_blend

SHOP = ShopConfig(users=400, items=120, categories=6, views_per_user=20.0, seed=2)
GRID = (ALSParams(factors=8, regularization=1.0, alpha=1.0, iterations=10),)


def test_significance_needs_a_consistent_gain():
    baseline = np.zeros(100)
    assert significantly_better(np.full(100, 0.01), baseline)
    assert not significantly_better(np.tile([0.5, -0.5], 50), baseline)
    assert not significantly_better(np.zeros(100), baseline)


def test_without_emotional_signal_the_blend_is_plain_cf():
    bench = EmotionBench(simulate_shop(SHOP), seed=0, als_grid=GRID)
    silent = AffectSignal.from_pairs(
        bench.shop.pair_users,
        bench.shop.pair_items,
        np.zeros(len(bench.shop.pair_users)),
        bench.shape,
        bench.shop.item_category,
    )
    choice = tune_blend(
        bench.fit, bench.validation, silent, lambda m: FactorModel.train(m, GRID[0]), (0.0, 2.0), (0.0, 4.0)
    )
    assert (choice.strength, choice.weight) == (0.0, 0.0)
    assert len(choice.trials) == 4


def test_clean_emotions_earn_a_weight_and_shuffled_ones_do_not():
    bench = EmotionBench(simulate_shop(SHOP), seed=0, als_grid=GRID)
    cf = bench.baselines()["cf"]["ndcg"]
    clean = bench.blend(np.eye(7))
    shuffled = bench.blend(np.eye(7), shuffle=True)
    assert clean["weight"] > 0 and clean["ndcg"] > cf
    assert (shuffled["strength"], shuffled["weight"]) == (0.0, 0.0)
    assert shuffled["ndcg"] == cf


def test_cf_benchmark_tunes_on_validation_and_reports_every_model(two_camps):
    grid = (ALSParams(factors=2, regularization=1.0, alpha=1.0, iterations=5), GRID[0])
    result = cf_benchmark(two_camps, seed=1, als_grid=grid, bpr_grid=(BPRParams(factors=4, iterations=20),))
    assert set(result["test"]) == {"popularity", "als_reference", "als", "bpr"}
    assert len(result["validation_trials"]["als"]) == 2
    assert result["tuned"]["als"] in [asdict(params) for params in grid]
    assert result["test"]["als"]["ndcg"] > result["test"]["popularity"]["ndcg"]
