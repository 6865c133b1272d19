import numpy as np
import pytest
from scipy.sparse import csr_matrix

from emotion.ml.labels import seconds_vector, valence
from recommender.ml.affect import (
    AffectShares,
    AffectSignal,
    BlendedScorer,
    adjust_confidence,
    shrunk_valence,
)


class _Fixed:
    def __init__(self, scores: np.ndarray) -> None:
        self._scores = scores

    def scores(self, userids: np.ndarray) -> np.ndarray:
        return self._scores[userids]


# One user, five items in two categories; CF prefers item 0, then 1, 2, 3, 4.
CF = _Fixed(np.array([[5.0, 4.0, 3.0, 2.0, 1.0]]))
CATEGORY = np.array([0, 0, 1, 1, 1])


def _signal(item: int, value: float) -> AffectSignal:
    return AffectSignal.from_pairs(np.array([0]), np.array([item]), np.array([value]), (1, 5), CATEGORY)


def _order(scorer: BlendedScorer) -> list[int]:
    return np.argsort(-scorer.scores(np.array([0]))[0], kind="stable").tolist()


def test_shrunk_valence_is_a_seconds_weighted_mean_shrunk_by_the_prior():
    assert shrunk_valence(seconds_vector({"happy": 8.0}), prior_seconds=2.0) == pytest.approx(0.8)
    assert shrunk_valence(seconds_vector({"disgust": 3.0, "happy": 3.0})) == pytest.approx(0.0)
    assert shrunk_valence(seconds_vector({"angry": 10.0}), prior_seconds=0.0) == pytest.approx(-0.8)
    assert shrunk_valence(np.zeros((2, 7))).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown emotions"):
        seconds_vector({"contempt": 1.0})


@pytest.mark.parametrize("seconds", [{"happy": 8.0}, {"sad": 2.0, "surprise": 5.0, "neutral": 1.0}, {"disgust": 0.5}])
def test_without_a_prior_the_ranking_valence_is_the_stored_one(seconds):
    """One meaning of valence: the shrunk ranking form differs from it only by the prior."""
    assert shrunk_valence(seconds_vector(seconds), prior_seconds=0.0) == pytest.approx(valence(seconds), abs=1e-12)


def test_confidence_scales_with_valence_and_strength_zero_is_identity():
    confidence = csr_matrix(np.array([[2.0, 2.0, 2.0]], dtype=np.float32))
    valences = csr_matrix(np.array([[0.5, -0.5, 0.0]]))
    adjusted = adjust_confidence(confidence, valences, strength=2.0).toarray()[0]
    assert adjusted == pytest.approx([2 * np.e, 2 / np.e, 2.0])
    assert (adjust_confidence(confidence, valences, 0.0) != confidence).nnz == 0


def test_zero_signal_leaves_the_cf_order_unchanged():
    silent = AffectSignal.from_pairs(np.array([0]), np.array([3]), np.array([0.0]), (1, 5), CATEGORY)
    assert _order(BlendedScorer(CF, silent, weight=5.0)) == [0, 1, 2, 3, 4]
    assert _order(BlendedScorer(CF, _signal(0, -1.0), weight=0.0)) == [0, 1, 2, 3, 4]


def _shift(item: int, value: float, weight: float) -> np.ndarray:
    """How far the blend moves each item's score for a reaction of ``value`` to ``item``."""
    user = np.array([0])
    blended = BlendedScorer(CF, _signal(item, value), weight).scores(user)[0]
    return blended - BlendedScorer(CF, _signal(item, 0.0), weight).scores(user)[0]


def test_negative_reaction_demotes_the_product_and_more_weakly_its_category():
    shift = _shift(0, -0.9, weight=3.0)
    assert shift[0] < shift[1] < 0  # the product sinks most, its category-mate less
    assert shift[2:] == pytest.approx([0.0, 0.0, 0.0])  # the other category is untouched
    assert _order(BlendedScorer(CF, _signal(0, -0.9), weight=3.0))[-1] == 0  # CF's favourite drops to last


def test_positive_reaction_promotes_the_product_and_its_category():
    shift = _shift(4, 0.9, weight=3.0)
    assert shift[4] > shift[3] > 0
    assert shift[2] == pytest.approx(shift[3])
    assert shift[:2] == pytest.approx([0.0, 0.0])
    assert _order(BlendedScorer(CF, _signal(4, 0.9), weight=3.0))[0] == 4  # CF's last becomes first


def test_category_share_and_hold_out_removal():
    scorer = BlendedScorer(CF, _signal(0, -0.9), weight=2.0, shares=AffectShares(product=1.0, category=0.0))
    base = BlendedScorer(CF, _signal(0, 0.0), weight=2.0).scores(np.array([0]))[0]
    assert scorer.scores(np.array([0]))[0][1] == pytest.approx(base[1])
    emptied = _signal(0, -0.9).without(csr_matrix(np.array([[1.0, 0, 0, 0, 0]])))
    assert emptied.valence.nnz == 0 and emptied.reacted.nnz == 0
