"""A seeded synthetic shop whose shoppers react emotionally, for evaluating the emotion blend.

No public data set pairs shopping logs with facial reactions, so the blend is evaluated on a
simulated shop. Shoppers have latent tastes per category and per product. They browse (partly
by taste, partly by popularity), and every view produces a true reaction from taste: liked ->
happy/surprise, disliked -> disgust/angry/sad, indifferent -> neutral, one frame per second of
dwell. Each frame then goes through the emotion classifier's confusion matrix, so the blend
sees emotions exactly as noisy as the real classifier makes them. Purchases follow taste.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from recommender.ml.affect import EMOTIONS
from recommender.ml.experiments import A, B, ShopperTable, assign, team_draft_batch
from recommender.ml.matrix import CART, PURCHASE, ConfidenceWeights, from_pairs

N_EMOTIONS: Final[int] = len(EMOTIONS)
_E = {name: index for index, name in enumerate(EMOTIONS)}


def _distribution(**probabilities: float) -> NDArray[np.float64]:
    vector = np.zeros(N_EMOTIONS)
    for name, probability in probabilities.items():
        vector[_E[name]] = probability
    return vector / vector.sum()


# True emotion of each second of a view, by the shopper's sentiment towards the product
# (liked, disliked, indifferent). Even a liked product leaves the face neutral much of the time.
LIKED, DISLIKED, INDIFFERENT = 0, 1, 2
TRUE_REACTION: Final[tuple[NDArray[np.float64], ...]] = (
    _distribution(happy=0.45, surprise=0.2, neutral=0.35),
    _distribution(disgust=0.25, angry=0.15, sad=0.2, neutral=0.4),
    _distribution(neutral=0.9, sad=0.04, surprise=0.03, happy=0.03),
)

# Which wrong class a FER2013 classifier tends to pick for each true class (rows in FER2013
# order, diagonal empty), following the confusions commonly reported for FER2013 models:
# disgust and fear are read as anger, sadness and neutral swap, fear looks like surprise.
_TYPICAL_ERRORS: Final[NDArray[np.float64]] = np.array(
    [
        [0, 0.05, 0.2, 0.1, 0.35, 0.05, 0.25],  # angry
        [0.5, 0, 0.1, 0.1, 0.15, 0.05, 0.1],  # disgust
        [0.2, 0.02, 0, 0.05, 0.35, 0.2, 0.18],  # fear
        [0.05, 0.01, 0.05, 0, 0.14, 0.15, 0.6],  # happy
        [0.2, 0.02, 0.2, 0.08, 0, 0.05, 0.45],  # sad
        [0.08, 0.01, 0.4, 0.25, 0.06, 0, 0.2],  # surprise
        [0.15, 0.01, 0.12, 0.15, 0.47, 0.1, 0],  # neutral
    ]
)


def synthetic_confusion(accuracy: float) -> NDArray[np.float64]:
    """Row-stochastic confusion with ``accuracy`` on the diagonal and FER-like errors elsewhere."""
    errors = _TYPICAL_ERRORS / _TYPICAL_ERRORS.sum(axis=1, keepdims=True)
    return accuracy * np.eye(N_EMOTIONS) + (1.0 - accuracy) * errors


def load_confusion(path: str | Path) -> NDArray[np.float64]:
    """Row-normalised confusion matrix from an evaluation JSON with a ``confusion`` key (counts)."""
    matrix = np.asarray(json.loads(Path(path).read_text())["confusion"], dtype=np.float64)
    if matrix.shape != (N_EMOTIONS, N_EMOTIONS):
        raise ValueError(f"confusion must be {N_EMOTIONS}x{N_EMOTIONS}, got {matrix.shape}")
    return normalise_rows(matrix)


def normalise_rows(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows summing to 1; an empty row (class never seen) becomes a uniform guess."""
    totals = matrix.sum(axis=1, keepdims=True)
    return np.where(totals > 0, matrix / np.where(totals > 0, totals, 1.0), 1.0 / matrix.shape[1])


def mean_recall(confusion: NDArray[np.float64]) -> float:
    """Balanced accuracy of a row-normalised confusion matrix (mean of its diagonal)."""
    return float(np.diag(confusion).mean())


@dataclass(frozen=True)
class ShopConfig:
    """Size and behaviour of the simulated shop.

    The defaults give about 30 viewed products per shopper and a purchase for roughly one view
    in ten (RetailRocket: one (visitor, item) pair in sixteen), so purchases are the scarce
    signal they are in a real shop and browsing says something, but not everything, about taste.
    """

    users: int = 2000
    items: int = 600
    categories: int = 12
    views_per_user: float = 30.0
    taste_browsing: float = 0.7  # how strongly browsing follows category taste (0: popularity only)
    popularity_skew: float = 1.0  # Zipf exponent of item popularity
    liked_above: float = 0.7  # taste thresholds of the three sentiments
    disliked_below: float = -0.3
    purchase_threshold: float = 2.2  # taste at which a view ends in a purchase half of the time
    seed: int = 0


@dataclass(frozen=True)
class Shop:
    """What the shop logged, plus the true per-second emotions of every (user, item) pair."""

    confidence: csr_matrix  # views (dwell-weighted), carts and purchases
    purchases: csr_matrix  # binary
    pair_users: NDArray[np.int64]  # one entry per viewed (user, item) pair
    pair_items: NDArray[np.int64]
    true_seconds: NDArray[np.int64]  # (pairs, 7) seconds of each true emotion (face = purchase taste)
    item_category: NDArray[np.int64]
    taste: NDArray[np.float64] | None = None  # per pair: the hidden taste purchases follow
    dwell: NDArray[np.int64] | None = None  # per pair: seconds on the product page


def simulate_shop(config: ShopConfig, weights: ConfidenceWeights | None = None) -> Shop:
    """Generate the shop log deterministically from ``config.seed``."""
    weights = weights or ConfidenceWeights()
    rng = np.random.default_rng(config.seed)
    item_category = rng.integers(0, config.categories, config.items)
    appeal = rng.normal(0.0, 0.5, config.items)
    popularity = 1.0 / np.arange(1, config.items + 1) ** config.popularity_skew
    popularity = rng.permutation(popularity)
    category_taste = rng.normal(0.0, 1.0, (config.users, config.categories))

    users, items, dwell, tastes = [], [], [], []
    for user in range(config.users):
        taste_of_category = category_taste[user, item_category]
        browse = popularity * np.exp(config.taste_browsing * taste_of_category)
        n_views = min(config.items, 5 + rng.poisson(config.views_per_user - 5))
        viewed = rng.choice(config.items, size=n_views, replace=False, p=browse / browse.sum())
        taste = taste_of_category[viewed] + appeal[viewed] + rng.normal(0.0, 0.5, n_views)
        users.append(np.full(n_views, user))
        items.append(viewed)
        tastes.append(taste)
        # about 8 s per product page; liked products hold attention a little longer
        dwell.append(np.maximum(1, np.round(rng.lognormal(np.log(8.0) + 0.3 * taste, 0.6))).astype(np.int64))
    pair_users, pair_items = np.concatenate(users), np.concatenate(items)
    taste, seconds = np.concatenate(tastes), np.concatenate(dwell)

    sentiment = np.select([taste > config.liked_above, taste < config.disliked_below], [LIKED, DISLIKED], INDIFFERENT)
    true_seconds = np.zeros((len(taste), N_EMOTIONS), dtype=np.int64)
    for kind, distribution in enumerate(TRUE_REACTION):
        rows = sentiment == kind
        true_seconds[rows] = rng.multinomial(seconds[rows], distribution)

    # buying and carting are steep (slope 3) in taste; carting starts half a taste unit earlier
    bought = rng.random(len(taste)) < 1.0 / (1.0 + np.exp(-3.0 * (taste - config.purchase_threshold)))
    carted = bought | (rng.random(len(taste)) < 1.0 / (1.0 + np.exp(-3.0 * (taste - config.purchase_threshold + 0.5))))
    confidence = weights.views(seconds) + carted * weights.confidence(CART) + bought * weights.confidence(PURCHASE)
    shape = (config.users, config.items)
    return Shop(
        confidence=from_pairs(pair_users, pair_items, confidence, shape),
        purchases=from_pairs(pair_users[bought], pair_items[bought], np.ones(int(bought.sum())), shape),
        pair_users=pair_users,
        pair_items=pair_items,
        true_seconds=true_seconds,
        item_category=item_category,
        taste=taste,
        dwell=seconds,
    )


def face_seconds(shop: Shop, config: ShopConfig, correlation: float, seed: int) -> NDArray[np.int64]:
    """True per-second emotions when the face tracks purchase taste only at ``correlation``.

    The face follows ``ρ·taste + √(1-ρ²)·noise`` (standardised, then put back on taste's scale,
    so the share of liked / disliked / indifferent faces is unchanged): at ρ = 1 this is the
    shop's own ``true_seconds`` model, at ρ = 0 the face says nothing about what gets bought.
    """
    if shop.taste is None or shop.dwell is None:
        raise ValueError("the shop was simulated without per-pair taste and dwell")
    rng = np.random.default_rng(seed)
    mean, spread = shop.taste.mean(), shop.taste.std()
    noise = rng.normal(0.0, 1.0, len(shop.taste))
    face = mean + spread * (correlation * (shop.taste - mean) / spread + np.sqrt(1 - correlation**2) * noise)
    sentiment = np.select([face > config.liked_above, face < config.disliked_below], [LIKED, DISLIKED], INDIFFERENT)
    seconds = np.zeros((len(face), N_EMOTIONS), dtype=np.int64)
    for kind, distribution in enumerate(TRUE_REACTION):
        rows = sentiment == kind
        seconds[rows] = rng.multinomial(shop.dwell[rows], distribution)
    return seconds


def observe_shoppers(
    true_seconds: NDArray[np.int64],
    pair_users: NDArray[np.int64],
    confusion: NDArray[np.float64],
    seed: int,
    concentration: float | None = None,
    miss_rate: float = 0.0,
) -> NDArray[np.int64]:
    """Seconds per emotion as the classifier reports them, with errors that stick to a shopper.

    Each shopper gets their own confusion matrix, row c drawn from Dirichlet(concentration ·
    confusion[c]): on average exactly ``confusion``, but a face the model misreads is misread
    the same way on every product, so errors do not average out over a shopper's views (None:
    independent per-second errors, as ``observe``). A second is missed (no face found) with
    a per-shopper probability drawn from Beta with mean ``miss_rate``.
    """
    rng = np.random.default_rng(seed)
    n_users = int(pair_users.max()) + 1 if len(pair_users) else 0
    seen = true_seconds
    if miss_rate > 0:
        strength = 4.0  # Beta(a, b) with a + b = 4: some shoppers sit badly lit or turned away
        missed = rng.beta(miss_rate * strength, (1 - miss_rate) * strength, n_users)
        seen = rng.binomial(true_seconds, (1.0 - missed)[pair_users, None])
    if concentration is None:
        return observe(seen, confusion, seed + 1)
    alpha = np.maximum(concentration * confusion, 1e-3)
    rows = np.stack([rng.dirichlet(alpha[c], size=n_users) for c in range(N_EMOTIONS)], axis=1)  # (users, 7, 7)
    observed = np.zeros_like(seen)
    for true_class in range(N_EMOTIONS):
        observed += rng.multinomial(seen[:, true_class], rows[pair_users, true_class])
    return observed


def dwell_signal(shop: Shop) -> NDArray[np.float64]:
    """A camera-free reaction per pair in (-1, 1): the view's log dwell standardised per shopper.

    Shoppers linger on what they like, so dwell carries part of what the face shows, at no
    privacy cost; fed to the same category re-ranker it is the camera-free competitor.
    """
    if shop.dwell is None:
        raise ValueError("the shop was simulated without dwell times")
    log_dwell = np.log(shop.dwell.astype(np.float64))
    n_users = int(shop.pair_users.max()) + 1
    count = np.bincount(shop.pair_users, minlength=n_users)
    mean = np.bincount(shop.pair_users, log_dwell, n_users) / np.maximum(count, 1)
    square = np.bincount(shop.pair_users, log_dwell**2, n_users) / np.maximum(count, 1)
    spread = np.sqrt(np.maximum(square - mean**2, 1e-9))
    return np.tanh((log_dwell - mean[shop.pair_users]) / spread[shop.pair_users])


def observe(true_seconds: NDArray[np.int64], confusion: NDArray[np.float64], seed: int) -> NDArray[np.int64]:
    """Seconds per emotion as the classifier reports them: each true second is relabelled by
    drawing from the confusion row of its true class."""
    rng = np.random.default_rng(seed)
    observed = np.zeros_like(true_seconds)
    for true_class in range(N_EMOTIONS):
        observed += rng.multinomial(true_seconds[:, true_class], confusion[true_class])
    return observed


def accuracy_ladder(real: NDArray[np.float64]) -> list[tuple[str, NDArray[np.float64]]]:
    """Classifiers from chance (uniform rows) through ``real`` to perfect (identity); the
    in-between steps average ``real`` with its neighbour."""
    chance = np.full((N_EMOTIONS, N_EMOTIONS), 1.0 / N_EMOTIONS)
    perfect = np.eye(N_EMOTIONS)
    return [
        ("chance", chance),
        ("real + chance", (real + chance) / 2),
        ("real", real),
        ("real + perfect", (real + perfect) / 2),
        ("perfect", perfect),
    ]


# --- Online traffic for experiments ---------------------------------------------------------------
#
# Shoppers who see recommendation lists, for checking the experiment statistics
# (recommender.ml.experiments) against a known truth: the real assignment hash, team draft
# and analysis run on them; only the shoppers are simulated.


@dataclass(frozen=True)
class Traffic:
    """Shoppers for an A/B test: each sees a few lists and clicks with a personal propensity."""

    impressions_mean: float = 3.0  # lists per shopper: 1 + Poisson(mean - 1)
    click_rate: float = 0.05  # mean per-impression click probability in arm A
    concentration: float = 4.0  # Beta(concentration) of shoppers' propensities: lower, more unequal
    cart_rate: float = 0.3  # add-to-cart per click
    purchase_rate: float = 0.4  # purchase per add-to-cart
    triggered_share: float = 0.3  # shoppers with emotion data (where the arms can differ)


def _propensity(traffic: Traffic, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    a = traffic.click_rate * traffic.concentration
    return rng.beta(a, traffic.concentration - a, n)


def ab_traffic(
    traffic: Traffic, shoppers: int, lift: float, key: str, share_b: float, rng: np.random.Generator
) -> ShopperTable:
    """One A/B experiment: arm B multiplies click propensity by (1 + lift), for triggered shoppers only."""

    arm = np.fromiter((assign(f"{key}/{i}", key, share_b) for i in range(shoppers)), np.int64, shoppers)
    impressions = 1 + rng.poisson(traffic.impressions_mean - 1, shoppers)
    triggered = rng.random(shoppers) < traffic.triggered_share
    propensity = _propensity(traffic, shoppers, rng) * np.where((arm == 1) & triggered, 1 + lift, 1.0)
    clicks = rng.binomial(impressions, np.clip(propensity, 0, 1))
    carts = rng.binomial(clicks, traffic.cart_rate)
    purchases = rng.binomial(carts, traffic.purchase_rate)
    as_float = (impressions, clicks, carts, purchases)
    return ShopperTable(arm, *(x.astype(np.float64) for x in as_float), triggered)


def per_shopper_click_rates(
    traffic: Traffic, lift: float, rng: np.random.Generator, n: int = 2_000_000
) -> tuple[float, float]:
    """The true share of shoppers who click at least once in A and in B (Monte Carlo), to plan a test."""
    impressions = 1 + rng.poisson(traffic.impressions_mean - 1, n)
    triggered = rng.random(n) < traffic.triggered_share
    propensity = _propensity(traffic, n, rng)
    rate_a = float(np.mean(1 - (1 - propensity) ** impressions))
    boosted = np.clip(propensity * np.where(triggered, 1 + lift, 1.0), 0, 1)
    return rate_a, float(np.mean(1 - (1 - boosted) ** impressions))


@dataclass(frozen=True)
class Lists:
    """Shoppers who see one list of ``length`` from ``candidates`` items, clicking by position and appeal."""

    candidates: int = 20
    length: int = 8
    appeal_a: float = 0.6  # Beta(appeal_a, appeal_b): how likely an examined item is clicked
    appeal_b: float = 6.0
    position_decay: float = 0.8  # examination probability 1 / (1 + position) ** decay
    noise_a: float = 1.0  # arm A ranks by appeal + this much Gaussian noise (in appeal's sd)
    noise_b: float = 0.5  # arm B ranks with less noise: the better arm


def _rankings(
    lists: Lists, shoppers: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    appeal = rng.beta(lists.appeal_a, lists.appeal_b, (shoppers, lists.candidates))
    spread = appeal.std()
    ranked = []
    for noise in (lists.noise_a, lists.noise_b):
        ranked.append(np.argsort(-(appeal + rng.normal(0, noise * spread, appeal.shape)), axis=1))
    return appeal, ranked[0], ranked[1]


def _clicks(
    lists: Lists, appeal: NDArray[np.float64], shown: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.bool_]:
    rows = np.arange(len(shown))[:, None]
    examine = 1.0 / (1.0 + np.arange(shown.shape[1])) ** lists.position_decay
    return rng.random(shown.shape) < examine * appeal[rows, shown]


def ab_lists(lists: Lists, shoppers: int, key: str, rng: np.random.Generator) -> ShopperTable:
    """A/B on lists: each shopper sees their arm's top ``length`` (assigned by the real hash, 50/50)."""

    arm = np.fromiter((assign(f"{key}/{i}", key, 0.5) for i in range(shoppers)), np.int64, shoppers)
    appeal, rank_a, rank_b = _rankings(lists, shoppers, rng)
    shown = np.where((arm == 1)[:, None], rank_b, rank_a)[:, : lists.length]
    clicks = _clicks(lists, appeal, shown, rng).sum(axis=1).astype(np.float64)
    zeros = np.zeros(shoppers)
    return ShopperTable(arm, np.ones(shoppers), clicks, zeros, zeros, np.ones(shoppers, dtype=bool))


def interleaved_lists(lists: Lists, shoppers: int, rng: np.random.Generator) -> ShopperTable:
    """Team-draft interleaving on the same shoppers' model: clicks credited to the arm that placed the item."""

    appeal, rank_a, rank_b = _rankings(lists, shoppers, rng)
    coins = rng.random((shoppers, lists.length)) < 0.5
    shown, teams = team_draft_batch(rank_a, rank_b, lists.length, coins)
    clicked = _clicks(lists, appeal, shown, rng)
    credit_a = (clicked & (teams == A)).sum(axis=1).astype(np.float64)
    credit_b = (clicked & (teams == B)).sum(axis=1).astype(np.float64)
    zeros = np.zeros(shoppers)
    return ShopperTable(
        np.zeros(shoppers, dtype=np.int64), np.ones(shoppers), credit_a + credit_b, zeros, zeros,
        np.ones(shoppers, dtype=bool), credit_a, credit_b,
    )  # fmt: skip
