import numpy as np
from scipy.sparse import csr_matrix

from recommender.ml.cf import ALSParams, BPRParams, FactorModel, Popularity

ALS = ALSParams(factors=4, regularization=0.1, alpha=2.0, iterations=10)


def test_als_recommends_from_the_users_own_camp(two_camps):
    model = FactorModel.train(two_camps, ALS, seed=1)
    ids, scores = model.recommend(0, two_camps[0], n=3)
    assert (ids < 10).all()  # user 0 belongs to camp A (items 0-9)
    assert not set(ids) & set(two_camps[0].indices)
    assert (np.diff(scores) <= 0).all()
    assert model.scores(np.array([0, 25])).shape == (2, 20)
    similar, _ = model.similar_items(3, n=4)
    assert similar[0] == 3 and (similar < 10).all()


def test_bpr_trains_and_scores(two_camps):
    model = FactorModel.train(two_camps, BPRParams(factors=4, learning_rate=0.05, iterations=50), seed=1)
    assert model.kind == "bpr"
    assert model.scores(np.arange(40)).shape == (40, 20)


def test_training_is_seeded(two_camps):
    first = FactorModel.train(two_camps, ALS, seed=5)
    second = FactorModel.train(two_camps, ALS, seed=5)
    assert np.array_equal(first.item_factors, second.item_factors)


def test_popularity_counts_users_per_item():
    matrix = csr_matrix(np.array([[3.0, 0, 1], [1, 0, 0]], dtype=np.float32))
    scores = Popularity(matrix).scores(np.array([0, 1]))
    assert scores.tolist() == [[2, 0, 1], [2, 0, 1]]


def test_fresh_recommendations_follow_a_new_interaction_without_refit(two_camps):
    model = FactorModel.train(two_camps, ALS, seed=1)
    factors_before = model.user_factors.copy()
    before, _ = model.recommend(0, two_camps[0], n=5, fresh=True)
    # user 0 (camp A) suddenly engages heavily with camp B's items
    row = two_camps[0].toarray()
    row[0, [10, 11, 12, 13]] = 20.0
    after, _ = model.recommend(0, csr_matrix(row), n=5, fresh=True)
    assert not np.array_equal(before, after)
    assert (after >= 10).sum() > (before >= 10).sum()
    assert np.array_equal(model.user_factors, factors_before)  # nothing was retrained or stored
    model.fold_in(np.array([0]), csr_matrix(row))
    assert not np.array_equal(model.user_factors[0], factors_before[0])
