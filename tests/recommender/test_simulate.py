import json

import numpy as np
import pytest

from recommender.ml.simulate import (
    ShopConfig,
    accuracy_ladder,
    load_confusion,
    mean_recall,
    observe,
    simulate_shop,
    synthetic_confusion,
)

SMALL = ShopConfig(users=60, items=50, categories=4, views_per_user=12.0, seed=11)


def test_the_shop_is_seeded_and_deterministic():
    first, second = simulate_shop(SMALL), simulate_shop(SMALL)
    assert (first.confidence != second.confidence).nnz == 0
    assert (first.purchases != second.purchases).nnz == 0
    assert np.array_equal(first.true_seconds, second.true_seconds)
    other = simulate_shop(ShopConfig(users=60, items=50, categories=4, views_per_user=12.0, seed=12))
    assert (first.confidence != other.confidence).nnz > 0


def test_the_log_is_consistent():
    shop = simulate_shop(SMALL)
    assert shop.confidence.shape == (60, 50)
    assert len(shop.pair_users) == shop.confidence.nnz  # one pair per viewed (user, item)
    assert shop.purchases.multiply(shop.confidence).nnz == shop.purchases.nnz  # bought only what was viewed
    assert shop.true_seconds.sum(axis=1).min() >= 1


def test_observation_is_seeded_and_a_perfect_classifier_sees_the_truth():
    shop = simulate_shop(SMALL)
    noisy = synthetic_confusion(0.5)
    assert np.array_equal(observe(shop.true_seconds, noisy, 3), observe(shop.true_seconds, noisy, 3))
    assert np.array_equal(observe(shop.true_seconds, np.eye(7), 3), shop.true_seconds)
    seen = observe(shop.true_seconds, noisy, 3)
    assert np.array_equal(seen.sum(axis=1), shop.true_seconds.sum(axis=1))  # relabelled, not lost


def test_confusion_matrices(tmp_path):
    synthetic = synthetic_confusion(0.65)
    assert synthetic.sum(axis=1) == pytest.approx(np.ones(7))
    assert np.diag(synthetic) == pytest.approx(np.full(7, 0.65))
    counts = np.diag(np.arange(1, 8)) * 10 + 1
    counts[1] = 0  # a class never seen in the test set
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"accuracy": 0.7, "confusion": counts.tolist()}))
    loaded = load_confusion(path)
    assert loaded.sum(axis=1) == pytest.approx(np.ones(7))
    assert loaded[1] == pytest.approx(np.full(7, 1 / 7))
    path.write_text(json.dumps({"confusion": [[1, 0], [0, 1]]}))
    with pytest.raises(ValueError, match="7x7"):
        load_confusion(path)


def test_accuracy_ladder_runs_from_chance_to_perfect():
    recalls = [mean_recall(matrix) for _, matrix in accuracy_ladder(synthetic_confusion(0.6))]
    assert recalls == pytest.approx([1 / 7, (0.6 + 1 / 7) / 2, 0.6, 0.8, 1.0])
