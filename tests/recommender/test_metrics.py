import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.ml.metrics import evaluate, holdout_split, score_lists, self_information
from recommender.ml.ranking import top_k


def test_metrics_match_hand_computed_values():
    recommended = np.array([[3, 1, 4], [0, 2, 5]])
    test = csr_matrix(np.array([[0, 1, 0, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0, 1]], dtype=np.float32))
    scores = score_lists(recommended, test, n_items=7)
    # user 0: hits at ranks 2 and 3 out of 3 relevant items; user 1: no hit
    assert scores.precision.tolist() == pytest.approx([2 / 3, 0.0])
    assert scores.recall.tolist() == pytest.approx([2 / 3, 0.0])
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores.ndcg.tolist() == pytest.approx([dcg / ideal, 0.0])
    assert scores.coverage == pytest.approx(6 / 7)
    assert scores.summary()["ndcg"] == pytest.approx(dcg / ideal / 2)


def test_ndcg_is_one_for_a_perfect_list_shorter_than_k():
    scores = score_lists(np.array([[2, 0, 1]]), csr_matrix(np.array([[0, 0, 1.0]])), n_items=3)
    assert scores.ndcg[0] == pytest.approx(1.0)
    assert scores.precision[0] == pytest.approx(1 / 3)
    assert scores.recall[0] == pytest.approx(1.0)


def test_holdout_is_seeded_disjoint_and_keeps_every_user_in_training(two_camps):
    train, test = holdout_split(two_camps, fraction=0.5, seed=3)
    again_train, again_test = holdout_split(two_camps, fraction=0.5, seed=3)
    assert (test != again_test).nnz == 0 and (train != again_train).nnz == 0
    assert train.multiply(test).nnz == 0
    assert train.nnz + test.nnz == two_camps.nnz
    assert (np.diff(test.indptr) == 3).all()
    assert (np.diff(train.indptr) == 3).all()
    assert (holdout_split(two_camps, fraction=0.5, seed=4)[1] != test).nnz > 0


def test_holdout_only_draws_from_candidates():
    matrix = csr_matrix(np.array([[1, 1, 1, 1], [1, 0, 0, 0]], dtype=np.float32))
    candidates = csr_matrix(np.array([[0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    train, test = holdout_split(matrix, fraction=0.5, seed=0, candidates=candidates)
    assert test.toarray().tolist() == [[0, 0, 1, 0], [0, 0, 0, 0]]  # user 1 has a single item
    assert train[0, 2] == 0 and train[1, 0] == 1


class _Fixed:
    def __init__(self, scores: np.ndarray) -> None:
        self._scores = scores

    def scores(self, userids: np.ndarray) -> np.ndarray:
        return self._scores[userids]


def test_evaluate_skips_training_items_and_users_without_test_items():
    train = csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    test = csr_matrix(np.array([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    scorer = _Fixed(np.array([[9.0, 1.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    result = evaluate(scorer, train, test, k=1)
    assert result.summary()["users"] == 1
    assert result.precision.tolist() == [1.0]  # item 0 scores higher but was already seen


def test_top_k_orders_best_first_and_skips_excluded_items():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [4.0, 3.0, 2.0, 1.0]])
    exclude = csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    assert top_k(scores, exclude, 2).tolist() == [[3, 2], [0, 1]]
    assert top_k(scores, None, 9).shape == (2, 4)


def test_map_and_novelty_of_handmade_lists():
    test = csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0]], dtype=np.float32))
    recommended = np.array([[0, 1], [2, 1]])
    information = np.array([1.0, 2.0, 3.0, 4.0])
    scores = score_lists(recommended, test, 4, information)
    # user 0: hit at rank 1 -> AP = 1/2 (two relevant, k=2); user 1: hit at rank 2 -> (1/2)/1
    assert np.allclose(scores.average_precision, [0.5, 0.5])
    assert scores.novelty == (1 + 2 + 3 + 2) / 4
    assert scores.summary()["map"] == 0.5


def test_self_information_is_rarity_in_bits():
    train = csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 5]], dtype=np.float32))
    assert np.allclose(self_information(train), [0.0, 2.0, 2.0, 2.0])
