"""Serving recommendations: one code path for the API, the storefront tags and the commands.

Every request reads the shopper's current history and reaction summaries, so a reaction
stored a moment ago changes the order at once without retraining: the served engine (any
``recommender.ml.engines.Engine``: EASE, ALS, item-kNN, a blend...) scores the shopper's
current row (its fold-in), and the affect term is added from the current ``AffectSummary``
rows. Without a usable model (missing, unreadable, stale) the
lists fall back to popularity; shoppers without history get popularity and what delights
most shoppers; products without history get content neighbours.
"""

import logging
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Q, Subquery
from numpy.typing import NDArray
from redis.exceptions import RedisError
from scipy.sparse import csr_matrix

from emotion.ml.labels import CLASSES, seconds_vector
from emotion.models import AffectSummary
from recommender.ml.affect import AffectSignal, BlendedScorer, adjust_confidence, shrunk_valence, standardise
from recommender.ml.matrix import ConfidenceWeights, from_pairs
from recommender.ml.ranking import top_k
from shop.models import Interaction, Product
from shop.services import Shopper, owned_rows, popular_products

from .store import DEFAULT, ServingModel, current_model

logger = logging.getLogger(__name__)

MAX_RESULTS = 100  # longest list one shopper or product gets; pages are cut from it
HISTORY_LIMIT = 500  # most recent interactions that make up a shopper's live row
# An affect contribution this large (in standard deviations of the shopper's CF scores) is
# what moved the item, so the reaction, not the history, is given as the reason.
REASON_MIN_AFFECT = 0.5
# "Delights most shoppers": mean valence shrunk towards neutral by this many pseudo-shoppers,
# so one enthusiastic shopper does not crown a product.
DELIGHT_MIN_SHOPPERS = 2
DELIGHT_PRIOR_SHOPPERS = 3.0
CONTENT_POOL = 200

REASONS = {
    "smiled": "because you smiled at {ref}",
    "surprised": "because {ref} surprised you",
    "looked": "because you looked closely at {ref}",
    "bought_also": "shoppers who bought {ref} also bought this",
    "liked_also": "shoppers who liked {ref} also liked this",
    "viewed": "because you viewed {ref}",
    "popular": "popular in {category}",
    "delight": "delights most shoppers who reacted to it",
    "content": "similar to {ref}",
}


# The reason a reaction gives, by the emotion the shopper showed most at the product it
# names. A recommendation is explained by a reaction only when the affect term lifted the
# item and that reaction was on balance pleasant; even then a product the shopper mostly
# frowned at, feared or was saddened by never gives a reason (the history one is given), so a
# negative reaction never reads as a positive one, and surprise is never called a smile.
REACTION_REASONS: dict[str, str | None] = {
    "happy": "smiled",
    "surprise": "surprised",
    "neutral": "looked",
    "sad": None,
    "fear": None,
    "angry": None,
    "disgust": None,
}


@dataclass(frozen=True)
class Owner:
    """Whose history personalises the list: an account, a session's shopper id, or both."""

    user_id: int | None
    shopper_id: uuid.UUID | None = None

    @classmethod
    def of(cls, shopper: Shopper) -> "Owner":
        return cls(shopper.user.pk if shopper.user is not None else None, shopper.shopper_id)

    def rows(self) -> Q:
        """Filter for this owner's interaction or reaction rows."""
        return owned_rows(self.shopper_id, self.user_id)


@dataclass(frozen=True)
class Ranked:
    """A ranked product before it is fetched; ``reason`` is a ``REASONS`` key about ``ref``."""

    product_id: int
    score: float
    cf_score: float
    affect_score: float
    reason: str
    ref: int | None = None
    category: int | None = None  # cold-start pool only: to spread a list over categories


@dataclass(frozen=True)
class Recommendation:
    product: Product
    score: float
    cf_score: float
    affect_score: float
    reason: str


@dataclass(frozen=True)
class RecommendationPage:
    """One page of a ranked list; ``count`` is the length of the whole list."""

    count: int
    items: list[Recommendation]


@dataclass(frozen=True)
class History:
    """A shopper's recent interactions: confidence per product and what they bought."""

    confidence: dict[int, float]
    bought: set[int]


def history_of(owner: Owner) -> History:
    """The owner's most recent interactions, weighted exactly as training weighs them."""
    rows = list(
        Interaction.objects.filter(owner.rows())
        .order_by("-created_at")
        .values_list("product_id", "kind", "dwell_seconds")[:HISTORY_LIMIT]
    )
    weights = ConfidenceWeights()
    views = weights.views(np.array([dwell or 0.0 for _, kind, dwell in rows if kind == Interaction.Kind.VIEW]))
    view_weights = iter(views.tolist())
    confidence: dict[int, float] = {}
    bought: set[int] = set()
    for product_id, kind, _ in rows:
        value = next(view_weights) if kind == Interaction.Kind.VIEW else weights.confidence(kind)
        confidence[product_id] = confidence.get(product_id, 0.0) + value
        if kind == Interaction.Kind.PURCHASE:
            bought.add(product_id)
    return History(confidence, bought)


@dataclass(frozen=True)
class Felt:
    """The owner's reaction to one product: ranking valence and the emotion shown longest."""

    valence: float
    emotion: str


def reactions_of(owner: Owner) -> dict[int, Felt]:
    """Valence and main emotion per product from the owner's reaction summaries as they are right now."""
    seconds: dict[int, NDArray[np.float64]] = {}
    for product_id, summary in AffectSummary.objects.filter(owner.rows()).values_list("product_id", "seconds"):
        seconds[product_id] = seconds.get(product_id, 0.0) + seconds_vector(summary)
    return {
        product_id: Felt(float(shrunk_valence(vector)), CLASSES[int(np.argmax(vector))])
        for product_id, vector in seconds.items()
    }


class _Row:
    """Scorer over one precomputed row of CF scores, so the engine's blend applies unchanged."""

    def __init__(self, scores: NDArray[np.floating]) -> None:
        self._scores = scores

    def scores(self, userids: NDArray[np.int64]) -> NDArray[np.floating]:
        return self._scores[userids]


def _signal(model: ServingModel, reactions: dict[int, Felt]) -> AffectSignal:
    """The owner's reactions as a one-row affect signal over the model's items."""
    pairs = [(model.items.index(pid), felt.valence) for pid, felt in reactions.items() if pid in model.items]
    items = np.array([item for item, _ in pairs], dtype=np.int64)
    values = np.array([value for _, value in pairs], dtype=np.float64)
    shape = (1, len(model.items))
    return AffectSignal.from_pairs(np.zeros(len(items), dtype=np.int64), items, values, shape, model.item_category)


def _affect_term(model: ServingModel, signal: AffectSignal) -> NDArray[np.float64]:
    """The blend's affect contribution per item: zero scores plus the weighted term."""
    zero = _Row(np.zeros((1, len(model.items))))
    return BlendedScorer(zero, signal, model.weight).scores(np.zeros(1, dtype=np.int64))[0]


def _reaction_refs(model: ServingModel, reactions: dict[int, Felt]) -> dict[int, tuple[str, int]]:
    """Per category code, the reason key and product of the shopper's most pleasant reaction there.

    Only reactions that are pleasant on balance and whose main emotion has a reason
    (``REACTION_REASONS``) qualify.
    """
    best: dict[int, tuple[float, str, int]] = {}
    for product_id, felt in reactions.items():
        reason = REACTION_REASONS.get(felt.emotion)
        if felt.valence > 0 and reason is not None and product_id in model.items:
            category = int(model.item_category[model.items.index(product_id)])
            if felt.valence > best.get(category, (0.0, "", 0))[0]:
                best[category] = (felt.valence, reason, product_id)
    return {category: (reason, product_id) for category, (_, reason, product_id) in best.items()}


def _personal(model: ServingModel, owner: Owner, history: History) -> list[Ranked]:
    """CF on the shopper's live row, blended with their live reactions; [] without usable history."""
    known = [(model.items.index(pid), value) for pid, value in history.confidence.items() if pid in model.items]
    if not known:
        return []
    n_items = len(model.items)
    row = from_pairs(
        np.zeros(len(known), dtype=np.int64),
        np.array([item for item, _ in known], dtype=np.int64),
        np.array([value for _, value in known]),
        (1, n_items),
    )
    # With a zero blend (emotions carried no signal) reactions cannot move anything: skip the query.
    reactions = reactions_of(owner) if model.strength or model.weight else {}
    signal = _signal(model, reactions)
    raw = model.engine.score_history(adjust_confidence(row, signal.valence, model.strength))
    cf = standardise(raw)[0]
    affect = _affect_term(model, signal)
    blended = np.where(model.available, cf + affect, -np.inf)[None, :]
    blended[0, row.indices] = -np.inf  # what the shopper already knows is not news
    top = [int(i) for i in top_k(blended, None, MAX_RESULTS)[0] if np.isfinite(blended[0, i])]
    return _explain_personal(model, top, cf, affect, row, history, _reaction_refs(model, reactions))


def _explain_personal(
    model: ServingModel,
    top: list[int],
    cf: NDArray[np.float64],
    affect: NDArray[np.float64],
    row: csr_matrix,
    history: History,
    felt: dict[int, tuple[str, int]],
) -> list[Ranked]:
    """Name what each item owes its place to: a reaction in its category, or the seen item that speaks most for it."""
    seen = row.indices
    affinity = model.engine.item_similarity(np.asarray(top, dtype=np.int64), seen) if top else None
    closest = seen[np.argmax(affinity, axis=1)] if affinity is not None else []
    ranked = []
    for item, source in zip(top, closest, strict=True):
        product_id = int(model.product_ids[item])
        reaction = felt.get(int(model.item_category[item]))
        if affect[item] >= REASON_MIN_AFFECT and reaction is not None:
            reason, ref = reaction
        else:
            ref = int(model.product_ids[source])
            reason = "bought_also" if ref in history.bought else "viewed"
        ranked.append(
            Ranked(product_id, float(cf[item] + affect[item]), float(cf[item]), float(affect[item]), reason, ref)
        )
    return ranked


def _cold_start_pool(with_delight: bool) -> list[Ranked]:
    """Popular products, and (when emotions carry signal) what delights most shoppers.

    Score = popularity as a share of the top product's plus the shrunk mean valence across
    shoppers: loved products rise, popular but disliked ones sink. Shared by every new
    shopper, so it is cached briefly.
    """
    key = f"recommender:cold-start:{int(with_delight)}"
    try:
        pool = cache.get(key)
    except (RedisError, OSError) as exc:  # the cache is an optimisation: the database answers without it
        logger.warning("Cache unavailable (%s); computing the cold-start list from the database", exc)
        return _cold_start_pool_from_database(with_delight)
    if pool is not None:
        return pool
    pool = _cold_start_pool_from_database(with_delight)
    try:
        cache.set(key, pool, settings.RECOMMENDER_COLD_START_CACHE_SECONDS)
    except (RedisError, OSError) as exc:
        logger.warning("Cache unavailable (%s); the cold-start list is not cached", exc)
    return pool


def _cold_start_pool_from_database(with_delight: bool) -> list[Ranked]:
    rows = Product.objects.available().order_by("-popularity", "pk").values_list("pk", "popularity", "category_id")
    popularity = {pk: value for pk, value, _ in rows[: 2 * MAX_RESULTS]}
    category_of = {pk: category for pk, _, category in rows[: 2 * MAX_RESULTS]}
    delight: dict[int, float] = {}
    if with_delight:
        rows = (
            AffectSummary.objects.filter(product__is_active=True)
            .values("product_id")
            .annotate(mean=Avg("valence"), shoppers=Count("shopper_id"))
            .filter(shoppers__gte=DELIGHT_MIN_SHOPPERS)
            .order_by("-mean")[:MAX_RESULTS]
        )
        delight = {r["product_id"]: r["mean"] * r["shoppers"] / (r["shoppers"] + DELIGHT_PRIOR_SHOPPERS) for r in rows}
        missing = Product.objects.filter(pk__in=set(delight) - set(popularity))
        for pk, value, category in missing.values_list("pk", "popularity", "category_id"):
            popularity[pk], category_of[pk] = value, category
    top = max(popularity.values(), default=0.0) or 1.0
    pool = []
    for product_id, value in popularity.items():
        share, affect = value / top, delight.get(product_id, 0.0)
        reason = "delight" if affect > max(share, 0.0) else "popular"
        pool.append(Ranked(product_id, share + affect, share, affect, reason, category=category_of.get(product_id)))
    pool.sort(key=lambda r: (-r.score, r.product_id))
    return pool


def _without(ranked: Iterable[Ranked], exclude: set[int]) -> list[Ranked]:
    return [r for r in ranked if r.product_id not in exclude][:MAX_RESULTS]


def _spread_over_categories(ranked: list[Ranked]) -> list[Ranked]:
    """Round-robin over categories, each in its own order, categories by their best item."""
    queues: dict[int | None, list[Ranked]] = {}
    for item in ranked:
        queues.setdefault(item.category, []).append(item)
    spread: list[Ranked] = []
    while queues:
        for category in list(queues):
            spread.append(queues[category].pop(0))
            if not queues[category]:
                del queues[category]
    return spread


def _model(name: str, emotion: bool) -> ServingModel | None:
    """The named model; without ``emotion`` its blend is switched off (the CF-only arm of an experiment)."""
    model = current_model(name)
    return replace(model, strength=0.0, weight=0.0) if model is not None and not emotion else model


def recommend(
    owner: Owner,
    limit: int,
    offset: int = 0,
    complement_popular: bool = False,
    *,
    model_name: str = DEFAULT,
    emotion: bool = True,
) -> RecommendationPage:
    """A page of the owner's recommendations, best first.

    Personal once the shopper has history the model knows; otherwise popularity and delight
    (popularity alone when there is no usable model or emotions carry no signal).
    ``complement_popular`` (the home page, which also shows "Popular right now"): a new
    visitor's list then skips what that panel shows and spreads over categories, so the two
    panels do not repeat each other. ``model_name`` and ``emotion`` pick an experiment's arm:
    a published model and whether its emotion blend applies.
    """
    model = _model(model_name, emotion)
    history = history_of(owner)
    ranked = _personal(model, owner, history) if model is not None else []
    if not ranked:
        with_delight = model is not None and model.weight > 0
        exclude = set(history.confidence)
        if complement_popular:
            exclude |= set(popular_products().values_list("pk", flat=True))
        ranked = _without(_cold_start_pool(with_delight), exclude)
        if complement_popular:
            ranked = _spread_over_categories(ranked)
    return _page(ranked, limit, offset)


def recommend_for_shopper(
    shopper: Shopper,
    limit: int,
    offset: int = 0,
    complement_popular: bool = False,
    *,
    model_name: str = DEFAULT,
    emotion: bool = True,
) -> RecommendationPage:
    return recommend(Owner.of(shopper), limit, offset, complement_popular, model_name=model_name, emotion=emotion)


def _co_bought(product: Product, candidates: list[int]) -> set[int]:
    """Which candidates were bought by shoppers who bought ``product``."""
    buyers = Interaction.objects.filter(product=product, kind=Interaction.Kind.PURCHASE).values("shopper_id")
    return set(
        Interaction.objects.filter(
            kind=Interaction.Kind.PURCHASE, product_id__in=candidates, shopper_id__in=Subquery(buyers)
        ).values_list("product_id", flat=True)
    )


def _cf_neighbours(model: ServingModel, product: Product, owner: Owner | None) -> list[Ranked]:
    """The engine's most similar products, re-ranked by the shopper's reactions."""
    ids, similarity = model.engine.similar_items(model.items.index(product.pk), MAX_RESULTS)
    keep = [k for k, item in enumerate(ids) if model.available[item] and model.product_ids[item] != product.pk]
    ids, similarity = ids[keep], similarity[keep]
    if not len(ids):
        return []
    cf = standardise(similarity[None, :])[0]
    reactions = reactions_of(owner) if owner is not None and model.weight else {}
    affect = _affect_term(model, _signal(model, reactions))[ids]
    felt = _reaction_refs(model, reactions)
    candidates = [int(model.product_ids[item]) for item in ids]
    co_bought = _co_bought(product, candidates)
    ranked = []
    for k, (item, product_id) in enumerate(zip(ids, candidates, strict=True)):
        reaction = felt.get(int(model.item_category[item]))
        if affect[k] >= REASON_MIN_AFFECT and reaction is not None:
            reason, ref = reaction
        else:
            reason, ref = ("bought_also" if product_id in co_bought else "liked_also"), product.pk
        ranked.append(Ranked(product_id, float(cf[k] + affect[k]), float(cf[k]), float(affect[k]), reason, ref))
    return sorted(ranked, key=lambda r: -r.score)


_WORD = re.compile(r"[a-z0-9]{3,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def content_neighbours(product: Product, exclude: set[int]) -> list[Ranked]:
    """Same-category products ranked by price closeness and shared words: needs no history.

    Price closeness is 1 at the same price and falls to 0 at half or double it.
    """
    words = _words(f"{product.name} {product.description}")
    price = float(product.price)
    rows = (
        Product.objects.available()
        .filter(category_id=product.category_id)
        .exclude(pk__in=exclude | {product.pk})
        .order_by("-popularity", "pk")
        .values_list("pk", "price", "name", "description")[:CONTENT_POOL]
    )
    ranked = []
    for pk, other_price, name, description in rows:
        other = _words(f"{name} {description}")
        text = len(words & other) / len(words | other) if words | other else 0.0
        ratio = float(other_price) / price if price > 0 and other_price > 0 else 1.0
        closeness = max(0.0, 1.0 - abs(math.log(ratio)) / math.log(2))
        similarity = 0.5 * text + 0.5 * closeness
        ranked.append(Ranked(pk, similarity, similarity, 0.0, "content", product.pk))
    ranked.sort(key=lambda r: -r.score)
    return ranked[:MAX_RESULTS]


def similar(
    product: Product,
    owner: Owner | None,
    limit: int,
    offset: int = 0,
    *,
    model_name: str = DEFAULT,
    emotion: bool = True,
) -> RecommendationPage:
    """ "You may also like": CF neighbours when the product has history, content neighbours after."""
    model = _model(model_name, emotion)
    ranked = _cf_neighbours(model, product, owner) if model is not None and product.pk in model.items else []
    if len(ranked) < MAX_RESULTS:
        ranked += content_neighbours(product, {r.product_id for r in ranked})
    return _page(ranked[:MAX_RESULTS], limit, offset)


def _page(ranked: list[Ranked], limit: int, offset: int) -> RecommendationPage:
    """Fetch one page's products and the products its reasons name, in a single query."""
    window = ranked[offset : offset + limit]
    wanted = {r.product_id for r in window} | {r.ref for r in window if r.ref is not None}
    products = Product.objects.select_related("category").in_bulk(wanted)
    items = []
    for r in window:
        product = products.get(r.product_id)
        if product is None or not product.is_active:  # deactivated since the model was loaded
            continue
        ref = products.get(r.ref) if r.ref is not None else None
        reason = REASONS[r.reason].format(ref=ref.name if ref else "a product", category=product.category.name)
        items.append(Recommendation(product, round(r.score, 4), round(r.cf_score, 4), round(r.affect_score, 4), reason))
    return RecommendationPage(len(ranked), items)


def available_product(product_id: int) -> Product | None:
    return Product.objects.available().select_related("category").filter(pk=product_id).first()
