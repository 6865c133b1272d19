"""The emotion blend: shoppers' facial reactions to products as a second signal next to CF.

Per (shopper, product) the webcam classifier yields seconds spent in each FER2013 emotion.
That becomes a valence in [-1, 1], shrunk towards 0 for short reactions (``shrunk_valence``),
which acts twice:

(a) before training, it scales the interaction's confidence (liked views count more, disliked
    ones less), and
(b) at ranking time, it adds a term to the per-user standardised CF scores: a negative
    reaction demotes the product itself and, more weakly, the other products of its category;
    a positive one promotes them the same way.

Both strengths are tuned on validation data (see ``tuning``), so a signal that does not help
ends up with weight 0 and the blend is plain CF.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix

from emotion.ml.labels import CLASSES, VALENCE_VECTOR
from recommender.ml.ranking import Scorer

# One definition of the emotions and of how pleasant each is, shared with the capture pipeline.
EMOTIONS: Final[tuple[str, ...]] = CLASSES

# Seconds of implicit neutral added to every reaction: a half-second flash of disgust is far
# weaker evidence than twenty seconds of it, and misclassified frames are common.
PRIOR_SECONDS: Final[float] = 2.0


def shrunk_valence(seconds: ArrayLike, prior_seconds: float = PRIOR_SECONDS) -> NDArray[np.float64]:
    """Seconds-weighted mean valence over the last axis (7 emotions), shrunk towards 0.

    Not ``emotion.ml.labels.valence`` (what a shopper showed, stored as ``AffectSummary.valence``
    and shown to staff): ranking weighs a reaction by its evidence, so ``prior_seconds`` of
    implicit neutral make a half-second frown count for little. With ``prior_seconds=0`` the two agree.
    """
    seconds = np.asarray(seconds, dtype=np.float64)
    total = seconds.sum(axis=-1)
    return (seconds @ VALENCE_VECTOR) / (total + prior_seconds)


def adjust_confidence(confidence: csr_matrix, valences: csr_matrix, strength: float) -> csr_matrix:
    """Multiply each confidence by ``exp(strength * valence)``; pairs without a reaction keep theirs.

    The exponential keeps confidences positive (a disliked view still happened) and makes
    ``strength = 0`` the identity. ``expm1`` preserves sparsity: missing valence adds nothing.
    """
    boost = (valences * strength).expm1()
    return csr_matrix(confidence + confidence.multiply(boost), dtype=np.float32)


@dataclass(frozen=True)
class AffectShares:
    """Relative weight of the re-ranking components (the overall blend weight is tuned).

    A reaction says most about the product itself and less about the rest of its category,
    hence the smaller category share.
    """

    product: float = 1.0
    category: float = 0.5


@dataclass(frozen=True)
class AffectSignal:
    """Valence of every reacted (user, item) pair and the category of every item.

    ``reacted`` marks the pairs separately because a valence of exactly 0 is still a reaction
    (it dilutes the category average) but is not stored in a sparse matrix.
    """

    valence: csr_matrix
    reacted: csr_matrix
    item_category: NDArray[np.int64]

    @classmethod
    def from_pairs(
        cls,
        users: NDArray[np.int64],
        items: NDArray[np.int64],
        valences: NDArray[np.floating],
        shape: tuple[int, int],
        item_category: NDArray[np.int64],
    ) -> "AffectSignal":
        """Build from one valence per (user, item) pair (pairs must be unique)."""
        matrix = csr_matrix((np.asarray(valences, dtype=np.float64), (users, items)), shape=shape)
        reacted = csr_matrix((np.ones(len(users)), (users, items)), shape=shape)
        return cls(matrix, reacted, np.asarray(item_category, dtype=np.int64))

    def without(self, pairs: csr_matrix) -> "AffectSignal":
        """The signal with the given (user, item) pairs removed, e.g. a test hold-out."""
        keep = self.reacted - self.reacted.multiply(pairs.astype(bool))
        keep.eliminate_zeros()
        return AffectSignal(csr_matrix(self.valence.multiply(keep)), csr_matrix(keep), self.item_category)

    def term(self, userids: NDArray[np.int64], shares: AffectShares) -> NDArray[np.float64]:
        """Re-ranking term per (user in ``userids``, item), each component within [-1, 1].

        product: the user's own valence for the item (demotes or promotes it when it is shown
        again); category: the user's mean valence over reacted items of the item's category, with
        one neutral pseudo-reaction so that a single mild frown weighs little. The category term
        is what reaches unseen products: disliked categories sink, liked ones rise.
        """
        valence_rows = self.valence[userids]
        n_items = len(self.item_category)
        n_categories = int(self.item_category.max()) + 1 if n_items else 0
        onehot = csr_matrix((np.ones(n_items), (np.arange(n_items), self.item_category)), shape=(n_items, n_categories))
        category_sum = (valence_rows @ onehot).toarray()
        category_count = (self.reacted[userids] @ onehot).toarray()
        category_mean = category_sum / (category_count + 1.0)
        return shares.product * valence_rows.toarray() + shares.category * category_mean[:, self.item_category]


def standardise(scores: NDArray[np.floating]) -> NDArray[np.float64]:
    """Per-row z-scores, so one blend weight fits users and models with different score scales."""
    scores = np.asarray(scores, dtype=np.float64)
    spread = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)


class BlendedScorer:
    """CF scores (standardised per user) plus ``weight`` × the affect term."""

    def __init__(
        self,
        base: Scorer,
        signal: AffectSignal,
        weight: float,
        shares: AffectShares | None = None,
    ) -> None:
        self.base = base
        self.signal = signal
        self.weight = weight
        self.shares = shares or AffectShares()

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.float64]:
        """Blended scores; with ``weight == 0`` the order equals the CF order."""
        blended = standardise(self.base.scores(userids))
        if self.weight:
            blended += self.weight * self.signal.term(userids, self.shares)
        return blended
