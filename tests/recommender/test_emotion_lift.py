"""The honest emotion-lift experiment: faces at a taste correlation, sticky errors, the gate."""

import numpy as np
import pytest

from recommender.ml.emotion_lift import Classifier, LiftShop, Split
from recommender.ml.engines import EngineSpec
from recommender.ml.metrics import holdout_split, score_lists
from recommender.ml.ranking import top_k
from recommender.ml.simulate import (
    LIKED,
    TRUE_REACTION,
    ShopConfig,
    dwell_signal,
    face_seconds,
    observe_shoppers,
    simulate_shop,
    synthetic_confusion,
)

SHOP = ShopConfig(users=300, items=80, categories=4, views_per_user=15.0, seed=3)
CANDIDATES = (
    EngineSpec("ease", {"regularization": 20.0, "binary": True, "neighbours": None}),
    EngineSpec("als", {"factors": 4, "regularization": 1.0, "alpha": 4.0, "iterations": 10}),
)


def happy_share(seconds: np.ndarray, rows: np.ndarray) -> float:
    return seconds[rows, 3].sum() / max(seconds[rows].sum(), 1)


def test_face_follows_taste_only_as_far_as_the_correlation_says():
    shop = simulate_shop(SHOP)
    liked = shop.taste > SHOP.liked_above
    tracked, untracked = face_seconds(shop, SHOP, 1.0, seed=0), face_seconds(shop, SHOP, 0.0, seed=0)
    assert happy_share(tracked, liked) > 0.35 and happy_share(tracked, ~liked) < 0.15
    assert abs(happy_share(untracked, liked) - happy_share(untracked, ~liked)) < 0.03
    assert tracked.sum() == untracked.sum() == shop.dwell.sum()  # one true emotion per second of dwell
    assert TRUE_REACTION[LIKED][3] > 0


def test_sticky_errors_average_to_the_confusion_but_stay_with_a_shopper():
    confusion = synthetic_confusion(0.6)
    users = np.repeat(np.arange(400), 10)
    true = np.zeros((len(users), 7), dtype=np.int64)
    true[:, 6] = 20  # every second truly neutral
    observed = observe_shoppers(true, users, confusion, seed=1, concentration=5.0)
    assert np.allclose(observed.sum(axis=0) / observed.sum(), confusion[6], atol=0.02)
    per_user_sad = np.bincount(users, observed[:, 4], 400) / 200
    independent = observe_shoppers(true, users, confusion, seed=1)
    per_user_sad_independent = np.bincount(users, independent[:, 4], 400) / 200
    assert per_user_sad.std() > 3 * per_user_sad_independent.std()  # misreadings stick to the shopper
    missed = observe_shoppers(true, users, confusion, seed=1, miss_rate=0.3)
    assert missed.sum() == pytest.approx(0.7 * true.sum(), rel=0.05)


def test_dwell_signal_is_standardised_per_shopper():
    shop = simulate_shop(SHOP)
    signal = dwell_signal(shop)
    assert signal.shape == shop.dwell.shape and (np.abs(signal) < 1).all()
    assert np.corrcoef(signal, shop.taste)[0, 1] > 0.1  # shoppers linger on what they like


def test_vectorised_ndcg_agrees_with_score_lists(two_camps):
    train, test = holdout_split(two_camps, 0.3, seed=0)
    scores = np.random.default_rng(0).random(two_camps.shape).astype(np.float32)
    users = np.flatnonzero(np.diff(test.indptr))
    split = Split(scores[users], train, test)
    expected = score_lists(top_k(split.base, train[users], 10), test[users], 20).ndcg
    assert np.allclose(split.ndcg(split.base), expected)


def test_faces_that_track_taste_lift_over_camera_free_and_noise_does_not():
    shop = LiftShop(SHOP, CANDIDATES)
    clean = Classifier("perfect", np.eye(7), None, 0.0)
    tracked = shop.condition(clean, 1.0, 1.0, seed=5)
    assert tracked["accepted"] and tracked["gain_vs_camera_free"] > 0
    assert tracked["forced_shuffled_change"] < 0  # shuffled faces at that weight cost ranking quality
    blind = shop.condition(clean, 0.0, 1.0, seed=5)
    assert not blind["accepted"] and blind["emotion_ndcg"] == blind["camera_free_ndcg"]
