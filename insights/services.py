"""Per-product reaction reports for shop staff, as plain functions over the database.

The admin pages, the CSV export and the read-only API all call these, so one figure is
computed one way. Everything the pages show over a period comes from the anonymous
per-product daily aggregates (``ProductEmotionDaily`` per emotion, ``ProductDailySummary``
for totals, viewing time, segments and data quality): they stay small and indexed with
millions of raw events, and they outlive the retention purge of raw data. The few figures
that need the raw reaction events (hourly timelines, top moments, conversion by dominant
reaction) read them through the ``(product, started_at)`` index and are only available
within the retention period.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncHour
from django.utils import timezone

from emotion.ml.labels import CLASSES, VALENCE
from emotion.ml.labels import arousal as weighted_arousal
from emotion.ml.labels import valence as weighted_valence
from emotion.ml.tta import TTA_SUFFIX
from emotion.models import (
    Consent,
    ProductDailySummary,
    ProductEmotionDaily,
    ProductViewerSketch,
    ReactionEvent,
    ViewerSegment,
)
from emotion.services import VIEWING_SECONDS
from shop.models import Category, Interaction, Product

from .forms import Period

TOP_MOMENTS = 5
RANKING_SIZE = 10

POSITIVE = tuple(e for e in CLASSES if VALENCE.get(e, 0.0) > 0)
NEGATIVE = tuple(e for e in CLASSES if VALENCE.get(e, 0.0) < 0)


# --- The classifier behind the figures -----------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """Which emotion model produced the labels, and how accurate it is on FER2013 PublicTest."""

    version: str
    accuracy: float | None
    source: str

    @property
    def accuracy_label(self) -> str:
        return f"{self.accuracy:.1%}" if self.accuracy is not None else "unknown"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_info() -> ModelInfo:
    """The shipped model's version and accuracy; "unknown" until the model and its evaluation exist.

    Read on each call (two small files, both shipped in the model directory): a newly shipped
    model shows up without a restart. An evaluation of another model version than the
    shipped one is not shown. Nothing under ``benchmarks/`` is read: it is not deployed.
    """
    card = _read_json(Path(settings.EMOTION_MODEL_DIR) / "model_card.json")
    version = str(card.get("model_version") or "unknown")
    evaluation = _read_json(Path(settings.EMOTION_MODEL_DIR) / "eval_publictest.json")
    accuracy = evaluation.get("accuracy")
    evaluated = str(evaluation.get("model_version", version)).removesuffix(TTA_SUFFIX)
    if isinstance(accuracy, int | float) and evaluated == version:
        return ModelInfo(version, float(accuracy), "FER2013 PublicTest")
    test_data, metrics = card.get("test_data"), card.get("test_metrics")
    uses_tta = isinstance(test_data, dict) and test_data.get("report_uses_tta")
    shipped = metrics.get("tta" if uses_tta else "plain") if isinstance(metrics, dict) else None
    accuracy = shipped.get("accuracy") if isinstance(shipped, dict) else None
    if isinstance(accuracy, int | float):
        return ModelInfo(version, float(accuracy), "model card test set")
    return ModelInfo(version, None, "no evaluation found")


# --- Database expressions ------------------------------------------------------------------


def _weighted(field_name: str, emotions: tuple[str, ...], sign: float = 1.0) -> Sum:
    """Sum of ``field_name`` weighted by each emotion's valence (times ``sign``) over ``emotions``."""
    return Sum(
        Case(
            *(When(emotion=e, then=F(field_name) * Value(sign * VALENCE[e])) for e in emotions),
            default=Value(0.0),
            output_field=FloatField(),
        )
    )


def delight_expr(field_name: str = "seconds") -> Sum:
    """Valence-weighted seconds of the pleasant emotions (happy counts fully, surprise half)."""
    return _weighted(field_name, POSITIVE)


def dislike_expr(field_name: str = "seconds") -> Sum:
    """Valence-weighted seconds of the unpleasant emotions, as a positive number."""
    return _weighted(field_name, NEGATIVE, -1.0)


def _rollup(period: Period) -> QuerySet[ProductEmotionDaily]:
    rows = ProductEmotionDaily.objects.filter(day__gte=period.start, day__lte=period.end)
    if period.category_id is not None:
        rows = rows.filter(product__category_id=period.category_id)
    return rows


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


# --- Small-count protection ------------------------------------------------------------------
# Emotion figures of a product, a category or the whole shop appear only when at least
# ``settings.INSIGHTS_MIN_VIEWERS`` distinct viewers reacted in the period, so that no aggregate
# (and no "longest reaction") describes one person. The test needs no raw event: the rollup's
# per-day viewer counts give a cheap lower bound (the most viewers of any one day and emotion),
# and the viewer sketches an exact answer where the bound falls short (``ProductViewerSketch``).


def min_viewers() -> int:
    return settings.INSIGHTS_MIN_VIEWERS


def includes_synthetic(period: Period, product: Product | None = None) -> bool:
    """Whether the period holds reactions made up by ``seed_reactions`` (a partial index answers)."""
    events = ReactionEvent.objects.filter(synthetic=True, started_at__gte=period.start_at, started_at__lt=period.end_at)
    if product is not None:
        events = events.filter(product=product)
    elif period.category_id is not None:
        events = events.filter(product__category_id=period.category_id)
    return events.exists()


def _sketches(period: Period) -> QuerySet[ProductViewerSketch]:
    rows = ProductViewerSketch.objects.filter(
        day__gte=period.start, day__lte=period.end, segment=ProductViewerSketch.ALL
    )
    if period.category_id is not None:
        rows = rows.filter(product__category_id=period.category_id)
    return rows


def sketch_viewers(rows: QuerySet[ProductViewerSketch]) -> int:
    """Distinct viewers behind some sketch rows: exact up to ``SKETCH_SIZE``, at least that many beyond."""
    return rows.values("key").distinct().count()


def enough_viewers(rows: QuerySet[ProductViewerSketch], lower_bound: int = 0) -> bool:
    """Whether at least K distinct viewers reacted; ``lower_bound`` (from the rollup) spares the query."""
    return lower_bound >= min_viewers() or sketch_viewers(rows) >= min_viewers()


def products_with_enough_viewers(period: Period, candidates: dict[int, int]) -> set[int]:
    """Which of ``candidates`` (product id -> viewer lower bound) had at least K viewers in the period.

    One grouped query over the sketches of those whose bound falls short.
    """
    k = min_viewers()
    passed = {pk for pk, bound in candidates.items() if bound >= k}
    doubtful = [pk for pk in candidates if pk not in passed]
    if doubtful:
        counts = (
            _sketches(period)
            .filter(product_id__in=doubtful)
            .values("product_id")
            .annotate(n=Count("key", distinct=True))
            .filter(n__gte=k)
            .values_list("product_id", flat=True)
        )
        passed.update(counts)
    return passed


# --- Emotion mix -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionStat:
    emotion: str
    seconds: float
    events: int
    share: float  # of all reaction seconds in the period
    mean_duration: float  # seconds per reaction event

    @property
    def valence(self) -> float:
        return VALENCE.get(self.emotion, 0.0)

    @property
    def percent(self) -> float:
        return self.share * 100


@dataclass(frozen=True)
class EmotionMix:
    """Reaction seconds and events per emotion, every emotion listed (zeros included)."""

    emotions: list[EmotionStat]

    @classmethod
    def from_totals(cls, totals: Mapping[str, tuple[float, int]]) -> "EmotionMix":
        total = sum(seconds for seconds, _ in totals.values())
        return cls(
            [
                EmotionStat(
                    e,
                    totals.get(e, (0.0, 0))[0],
                    totals.get(e, (0.0, 0))[1],
                    _ratio(totals.get(e, (0.0, 0))[0], total),
                    _ratio(*totals.get(e, (0.0, 0))),
                )
                for e in CLASSES
            ]
        )

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.emotions)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.emotions)

    @property
    def delight(self) -> float:
        return sum(s.seconds * s.valence for s in self.emotions if s.valence > 0)

    @property
    def dislike(self) -> float:
        return -sum(s.seconds * s.valence for s in self.emotions if s.valence < 0)

    @property
    def by_emotion(self) -> dict[str, EmotionStat]:
        return {s.emotion: s for s in self.emotions}

    @property
    def valence(self) -> float:
        """Duration-weighted valence in [-1, 1]; 0 without reactions."""
        return _ratio(self.delight - self.dislike, self.seconds)

    @property
    def arousal(self) -> float:
        """Duration-weighted arousal in [-1, 1] (``emotion.ml.labels.AROUSAL``); 0 without reactions."""
        return weighted_arousal({s.emotion: s.seconds for s in self.emotions})


def emotion_mix(rows: QuerySet[ProductEmotionDaily]) -> EmotionMix:
    """The emotion mix of some rollup rows, aggregated by the database (one row per emotion)."""
    totals = rows.values("emotion").annotate(s=Sum("seconds"), n=Sum("events")).values_list("emotion", "s", "n")
    return EmotionMix.from_totals({emotion: (seconds or 0.0, n or 0) for emotion, seconds, n in totals})


# --- Timeline ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One day or hour of the timeline: reaction seconds per emotion."""

    start: datetime | date
    seconds: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def valence(self) -> float:
        return weighted_valence(self.seconds)


def _buckets(period: Period) -> list[datetime | date]:
    if period.granularity == "hour":
        first = period.start_at
        return [timezone.localtime(first + timedelta(hours=h)) for h in range(period.days * 24)]
    return [period.start + timedelta(days=d) for d in range(period.days)]


def timeline(product: Product, period: Period) -> list[Bucket]:
    """Reaction seconds per emotion for every day (rollup) or hour (raw events) of the period.

    Every bucket is present, empty ones too, so charts and exports have a regular axis.
    """
    if period.granularity == "hour":
        rows = (
            ReactionEvent.objects.filter(product=product, started_at__gte=period.start_at, started_at__lt=period.end_at)
            .annotate(bucket=TruncHour("started_at"))
            .values("bucket", "emotion")
            .annotate(s=Sum("duration_seconds"))
            .values_list("bucket", "emotion", "s")
        )
    else:
        rows = (
            _rollup(period)
            .filter(product=product)
            .values("day", "emotion")
            .annotate(s=Sum("seconds"))
            .values_list("day", "emotion", "s")
        )
    seconds: dict[datetime | date, dict[str, float]] = {}
    for bucket, emotion, s in rows:
        key = timezone.localtime(bucket) if isinstance(bucket, datetime) else bucket
        seconds.setdefault(key, {})[emotion] = s
    return [Bucket(start, {e: seconds.get(start, {}).get(e, 0.0) for e in CLASSES}) for start in _buckets(period)]


# --- One product ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One long reaction: when, which emotion, how long, how sure the classifier was."""

    emotion: str
    started_at: datetime
    duration: float
    confidence: float


@dataclass(frozen=True)
class Conversion:
    """Viewers whose dominant reaction was ``reaction``, and how many of them carted or bought."""

    reaction: str  # an emotion, "none" (no reaction captured) or "all"
    viewers: int
    carted: int
    purchased: int

    @property
    def cart_rate(self) -> float:
        return _ratio(self.carted, self.viewers)

    @property
    def purchase_rate(self) -> float:
        return _ratio(self.purchased, self.viewers)


@dataclass(frozen=True)
class Traffic:
    views: int
    viewers: int
    consenting_viewers: int
    mean_dwell: float | None


@dataclass(frozen=True)
class ProductReactions:
    product: Product
    period: Period
    traffic: Traffic
    mix: EmotionMix
    timeline: list[Bucket]
    positive_moments: list[Moment]
    negative_moments: list[Moment]
    conversion: list[Conversion]
    enough_viewers: bool = True
    synthetic: bool = False  # the period includes seed_reactions' made-up reactions
    viewing: list["ViewingSecond"] = field(default_factory=list)
    quality: "Quality | None" = None
    segments: list["Segment"] = field(default_factory=list)
    min_viewers: int = field(default_factory=min_viewers)
    model: ModelInfo = field(default_factory=model_info)


def _views(product: Product, period: Period) -> QuerySet[Interaction]:
    return Interaction.objects.filter(
        product=product, kind=Interaction.Kind.VIEW, created_at__gte=period.start_at, created_at__lt=period.end_at
    )


def traffic(product: Product, period: Period) -> Traffic:
    """Views, distinct viewers, viewers who had camera consent at the time, and mean dwell time."""
    consented = Consent.objects.filter(
        Q(withdrawn_at=None) | Q(withdrawn_at__gt=OuterRef("created_at")),
        shopper_id=OuterRef("shopper_id"),
        granted_at__lte=OuterRef("created_at"),
    )
    row = (
        _views(product, period)
        .annotate(consented=Exists(consented))
        .aggregate(
            views=Count("id"),
            viewers=Count("shopper_id", distinct=True),
            consenting=Count("shopper_id", distinct=True, filter=Q(consented=True)),
            dwell=Avg("dwell_seconds"),
        )
    )
    return Traffic(row["views"], row["viewers"], row["consenting"], row["dwell"])


def top_moments(product: Product, period: Period, emotions: tuple[str, ...]) -> list[Moment]:
    """The longest reactions among ``emotions`` (raw events: within the retention period only)."""
    rows = (
        ReactionEvent.objects.filter(
            product=product, emotion__in=emotions, started_at__gte=period.start_at, started_at__lt=period.end_at
        )
        .order_by("-duration_seconds", "started_at")
        .values_list("emotion", "started_at", "duration_seconds", "mean_confidence")[:TOP_MOMENTS]
    )
    return [Moment(*row) for row in rows]


def conversion(product: Product, period: Period) -> list[Conversion]:
    """Cart and purchase rates of the period's viewers, split by their dominant reaction.

    A viewer's dominant reaction is the emotion with the most seconds on this product in the
    period, chosen by the database (one row per reacting viewer comes back); "none" are
    viewers without a captured reaction, "all" every viewer.
    """
    dominant = (
        ReactionEvent.objects.filter(product=product, started_at__gte=period.start_at, started_at__lt=period.end_at)
        .values("shopper_id", "emotion")
        .annotate(s=Sum("duration_seconds"))
        .annotate(rank=Window(RowNumber(), partition_by=[F("shopper_id")], order_by=[F("s").desc(), F("emotion")]))
        .filter(rank=1)
        .values_list("shopper_id", "emotion")
    )
    reaction_of = dict(dominant)
    viewers = set(_views(product, period).order_by().values_list("shopper_id", flat=True).distinct())
    viewers |= reaction_of.keys()  # a reaction implies a view, even one logged just before the period
    acted = (
        Interaction.objects.filter(
            product=product,
            kind__in=[Interaction.Kind.CART, Interaction.Kind.PURCHASE],
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
        )
        .order_by()
        .values_list("kind", "shopper_id")
        .distinct()
    )
    by_kind: dict[str, set] = {Interaction.Kind.CART: set(), Interaction.Kind.PURCHASE: set()}
    for kind, shopper in acted:
        by_kind[kind].add(shopper)
    carted, purchased = by_kind[Interaction.Kind.CART] & viewers, by_kind[Interaction.Kind.PURCHASE] & viewers
    groups: dict[str, set] = {}
    for shopper in viewers:
        groups.setdefault(reaction_of.get(shopper, "none"), set()).add(shopper)
    rows = [
        Conversion(reaction, len(group), len(group & carted), len(group & purchased))
        for reaction in (*CLASSES, "none")
        if (group := groups.get(reaction))
    ]
    return [*rows, Conversion("all", len(viewers), len(viewers & carted), len(viewers & purchased))]


def product_has_enough_viewers(product: Product, period: Period) -> bool:
    bound = _rollup(period).filter(product=product).aggregate(v=Max("viewers"))["v"] or 0
    return enough_viewers(_sketches(period).filter(product=product), bound)


def product_reactions(product: Product, period: Period) -> ProductReactions:
    """Everything the product page, its CSV and the API show, for one product and period.

    With fewer than K distinct viewers in the period, only the traffic and the overall
    conversion appear: no emotion mix, timeline, longest reactions or split by reaction.
    """
    if not product_has_enough_viewers(product, period):
        everyone = conversion(product, period)[-1]
        return ProductReactions(
            product,
            period,
            traffic(product, period),
            EmotionMix.from_totals({}),
            [],
            [],
            [],
            [everyone],
            False,
            quality=quality(product, period),
        )
    synthetic = includes_synthetic(period, product)
    return ProductReactions(
        product=product,
        period=period,
        traffic=traffic(product, period),
        mix=emotion_mix(_rollup(period).filter(product=product)),
        timeline=timeline(product, period),
        positive_moments=top_moments(product, period, POSITIVE),
        negative_moments=top_moments(product, period, NEGATIVE),
        conversion=conversion(product, period),
        synthetic=synthetic,
        viewing=viewing_time(product, period),
        quality=quality(product, period),
        segments=segments(product, period),
    )


# --- Depth: reaction over viewing time, arousal, attention, data quality, segments -------------


@dataclass(frozen=True)
class ViewingSecond:
    """Second ``second`` after the product came on screen: views still on screen, and per emotion
    how many of them showed it during that second."""

    second: int
    views: int
    showing: dict[str, int]

    def share(self, emotion: str) -> float:
        return _ratio(self.showing[emotion], self.views)


def _summaries(product: Product, period: Period) -> QuerySet[ProductDailySummary]:
    return ProductDailySummary.objects.filter(product=product, day__gte=period.start, day__lte=period.end)


def viewing_time(product: Product, period: Period) -> list[ViewingSecond]:
    """The share of views showing each emotion at second 0, 1, 2, ... of the view.

    Sums of the daily summaries (``emotion.services.refresh_daily_rollup`` counts each view
    on the day it came on screen), so the cost does not grow with the product's traffic.
    """
    views = np.zeros(VIEWING_SECONDS, dtype=np.int64)
    showing = np.zeros((len(CLASSES), VIEWING_SECONDS), dtype=np.int64)
    for viewing in _summaries(product, period).exclude(viewing={}).values_list("viewing", flat=True):
        views += viewing["views"]
        showing += [viewing["showing"][e] for e in CLASSES]
    return [
        ViewingSecond(s, int(views[s]), {e: int(showing[k, s]) for k, e in enumerate(CLASSES)})
        for s in range(VIEWING_SECONDS)
    ]


@dataclass(frozen=True)
class Quality:
    """How trustworthy the period's labels are (observations, within the retention period)."""

    frames: int
    views: int
    no_face: int
    low_confidence: int
    model_versions: list[str]

    @property
    def attention(self) -> float:
        """The share of the viewing time with a face in frame (frames with a face, of all frames)."""
        return _ratio(self.frames - self.no_face, self.frames)

    @property
    def frames_per_view(self) -> float:
        return _ratio(self.frames, self.views)

    @property
    def flags(self) -> list[str]:
        """Plain-words warnings a reader should see before trusting the figures."""
        flags = []
        if self.frames and self.no_face / self.frames > 0.5:
            flags.append(f"{self.no_face / self.frames:.0%} of frames had no face in them")
        if self.frames and self.low_confidence / self.frames > 0.3:
            flags.append(f"{self.low_confidence / self.frames:.0%} of frames were labelled with low confidence")
        if self.views and self.frames_per_view < 4:
            flags.append(f"only {self.frames_per_view:.1f} frames per view")
        if len(self.model_versions) > 1:
            flags.append(f"labels from {len(self.model_versions)} model versions are mixed")
        return flags


def quality(product: Product, period: Period) -> Quality:
    """Frames, faces, confidence and model versions behind the product's figures (daily summaries).

    A view whose frames span midnight counts once on each day.
    """
    rows = list(
        _summaries(product, period).values_list("frames", "frame_views", "no_face", "low_confidence", "model_versions")
    )
    frames, views, no_face, low = (sum(r[i] for r in rows) for i in range(4))
    return Quality(frames, views, no_face, low, sorted({v for r in rows for v in r[4]}))


@dataclass(frozen=True)
class Segment:
    """The reactions of one group of viewers; its mix only with at least K viewers in it."""

    name: str
    viewers: int  # distinct viewers, counted up to ProductViewerSketch.SKETCH_SIZE
    mix: EmotionMix

    @property
    def enough_viewers(self) -> bool:
        return self.viewers >= min_viewers()

    @property
    def viewers_label(self) -> str:
        """The count as the page shows it: "32+" at the sketch size, where counting stops."""
        capped = self.viewers >= ProductViewerSketch.SKETCH_SIZE
        return f"{ProductViewerSketch.SKETCH_SIZE}+" if capped else str(self.viewers)


def segments(product: Product, period: Period) -> list[Segment]:
    """Reaction mixes of new against returning viewers and of logged-in against anonymous ones.

    Sums of the daily summaries' per-segment totals; each segment's distinct viewers come from
    its viewer sketches, exact up to ``ProductViewerSketch.SKETCH_SIZE`` (enough for the K rule).
    """
    totals: dict[str, dict[str, list[float]]] = {segment: {} for segment in ViewerSegment.values}
    for day in _summaries(product, period).values_list("segments", flat=True):
        for segment, emotions in day.items():
            for emotion, (seconds, events) in emotions.items():
                cell = totals[segment].setdefault(emotion, [0.0, 0])
                cell[0] += seconds
                cell[1] += events
    viewers = dict(
        ProductViewerSketch.objects.filter(product=product, day__gte=period.start, day__lte=period.end)
        .exclude(segment=ProductViewerSketch.ALL)
        .values("segment")
        .annotate(n=Count("key", distinct=True))
        .values_list("segment", "n")
    )
    return [
        Segment(
            segment.label,
            viewers.get(segment.value, 0),
            EmotionMix.from_totals({e: (c[0], int(c[1])) for e, c in totals[segment.value].items()}),
        )
        for segment in ViewerSegment
    ]


# --- Overview --------------------------------------------------------------------------------------


class ProductTotals(NamedTuple):
    """One product's reaction totals over a period, as the database aggregated them.

    A named tuple, not a dataclass: the overview builds one per product (10k at benchmark scale).
    ``viewers`` is a lower bound of its distinct viewers (the most of any one day).
    """

    product_id: int
    seconds: float
    events: int
    delight: float
    dislike: float
    viewers: int

    @property
    def valence(self) -> float:
        return _ratio(self.delight - self.dislike, self.seconds)


@dataclass(frozen=True)
class RankedProduct:
    totals: ProductTotals
    name: str
    category: str
    spark: list[float]  # the ranking's measure per day of the period


@dataclass
class CategoryRow:
    category_id: int
    name: str
    products: int = 0
    seconds: float = 0.0
    events: int = 0
    delight: float = 0.0
    dislike: float = 0.0
    viewers: int = 0  # lower bound, as for a product
    enough_viewers: bool = True

    @property
    def valence(self) -> float:
        return _ratio(self.delight - self.dislike, self.seconds)


@dataclass(frozen=True)
class Overview:
    period: Period
    mix: EmotionMix
    products: int  # products with at least one reaction in the period
    by_delight: list[RankedProduct]
    by_dislike: list[RankedProduct]
    categories: list[CategoryRow]
    enough_viewers: bool = True  # for the shop-wide mix
    synthetic: bool = False  # the period includes seed_reactions' made-up reactions
    min_viewers: int = field(default_factory=min_viewers)
    model: ModelInfo = field(default_factory=model_info)


def product_totals(period: Period) -> list[ProductTotals]:
    """Per-product totals over the period: one scan of the daily summaries, grouped by the database.

    The overview's rankings and category table are all cut from this one result (one row
    per product with reactions). The summaries hold one row per product-day, a quarter of
    the per-emotion rollup's rows.
    """
    rows = ProductDailySummary.objects.filter(day__gte=period.start, day__lte=period.end)
    if period.category_id is not None:
        rows = rows.filter(product__category_id=period.category_id)
    totals = (
        rows.filter(events__gt=0)
        .values("product_id")
        .annotate(s=Sum("seconds"), n=Sum("events"), delight=Sum("delight"), dislike=Sum("dislike"), v=Max("viewers"))
        .order_by()
        .values_list("product_id", "s", "n", "delight", "dislike", "v")
    )
    return list(map(ProductTotals._make, totals))


def _ranked(totals: list[ProductTotals], period: Period, measure: str, limit: int) -> list[RankedProduct]:
    """The ``limit`` products with the most ``measure`` (delight or dislike), with daily sparklines.

    Only products with at least K viewers in the period; "dislike" lists only products whose
    valence is negative (a product mostly smiled at is not disliked, whatever its frowns).
    """
    eligible = [t for t in totals if getattr(t, measure) > 0 and (measure == "delight" or t.valence < 0)]
    ordered = iter(sorted(eligible, key=lambda t: (-getattr(t, measure), t.product_id)))
    top: list[ProductTotals] = []
    while len(top) < limit and (batch := list(islice(ordered, 2 * limit))):
        passed = products_with_enough_viewers(period, {t.product_id: t.viewers for t in batch})
        top += [t for t in batch if t.product_id in passed][: limit - len(top)]
    ids = [t.product_id for t in top]
    names = {
        pk: (name, category)
        for pk, name, category in Product.objects.filter(pk__in=ids).values_list("pk", "name", "category__name")
    }
    daily = (
        ProductEmotionDaily.objects.filter(product_id__in=ids, day__gte=period.start, day__lte=period.end)
        .values("product_id", "day")
        .annotate(v=delight_expr() if measure == "delight" else dislike_expr())
        .values_list("product_id", "day", "v")
    )
    sparks = {pk: [0.0] * period.days for pk in ids}
    for pk, day, value in daily:
        sparks[pk][(day - period.start).days] = value
    return [RankedProduct(t, *names[t.product_id], sparks[t.product_id]) for t in top]


def _categories(totals: list[ProductTotals], period: Period) -> list[CategoryRow]:
    """Reaction totals per category, most delighted first, summed from the per-product totals.

    A category below K viewers keeps its row (name, products) with ``enough_viewers`` False.
    """
    categories = Category.objects.order_by()
    if period.category_id is not None:
        categories = categories.filter(pk=period.category_id)
    rows = {pk: CategoryRow(pk, name) for pk, name in categories.values_list("pk", "name")}
    products = Product.objects.filter(category__in=rows.keys()).order_by()
    category_of = dict(products.values_list("pk", "category_id"))
    for t in totals:
        row = rows[category_of[t.product_id]]
        row.products += 1
        row.seconds += t.seconds
        row.events += t.events
        row.delight += t.delight
        row.dislike += t.dislike
        row.viewers = max(row.viewers, t.viewers)
    for row in rows.values():
        if row.products:
            sketches = _sketches(period).filter(product__category_id=row.category_id)
            row.enough_viewers = enough_viewers(sketches, row.viewers)
    return sorted((r for r in rows.values() if r.products), key=lambda r: (not r.enough_viewers, -r.delight, r.name))


def overview(period: Period, limit: int = RANKING_SIZE) -> Overview:
    """The dashboard: overall mix, products ranked by delight and by dislike, categories."""
    totals = product_totals(period)
    enough = enough_viewers(_sketches(period), max((t.viewers for t in totals), default=0))
    return Overview(
        period=period,
        mix=emotion_mix(_rollup(period)) if enough else EmotionMix.from_totals({}),
        products=len(totals),
        by_delight=_ranked(totals, period, "delight", limit),
        by_dislike=_ranked(totals, period, "dislike", limit),
        categories=_categories(totals, period),
        enough_viewers=enough,
        synthetic=includes_synthetic(period),
    )


def find_products(query: str, limit: int = 20) -> list[Product]:
    """Products whose name contains ``query``: the way to a product that is in no ranking."""
    query = query.replace("\x00", "").strip()  # PostgreSQL refuses a NUL in any string
    if not query:
        return []
    return list(Product.objects.filter(name__icontains=query).select_related("category").order_by("name")[:limit])


# --- CSV export (aggregates only, never per-frame or per-event rows) --------------------------------

CSV_CHUNK = 2000  # rows per DataFrame: the overview export of 10k products never sits in memory at once
# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection, OWASP):
# such text cells get a leading apostrophe, which spreadsheets show as text and do not run.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula neutralised.

    Only text cells: numbers (a negative valence) are written as numbers and run nothing.
    """
    frame = frame.copy()
    for column in frame.select_dtypes(include=["object", "str"]).columns:
        cells = frame[column]
        risky = cells.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).astype(bool)
        frame.loc[risky, column] = "'" + cells[risky]
    return frame


def _with_model(frame: pd.DataFrame, model: ModelInfo) -> pd.DataFrame:
    return frame.assign(
        model_version=model.version, model_accuracy="" if model.accuracy is None else f"{model.accuracy:.4f}"
    )


SECONDS_COLUMNS = [f"{e}_seconds" for e in CLASSES]
OVERVIEW_COLUMNS = ["product_id", "product", "category", *SECONDS_COLUMNS, "seconds", "events"]
OVERVIEW_COLUMNS += ["delight_seconds", "dislike_seconds"]
QUERY_NAMES = {"product": "product_name", "category": "category_name", "seconds": "total"}  # model fields' names


def _rounded(values: pd.DataFrame | pd.Series, digits: int) -> pd.DataFrame | pd.Series:
    """Python's (correctly rounded decimal) ``round``, which the pages' figures use too."""
    return values.map(lambda v: round(float(v), digits))


def overview_csv(period: Period) -> Iterator[pd.DataFrame]:
    """One row per product with reactions in the period: seconds and events per emotion, valence.

    In chunks of ``CSV_CHUNK`` rows, most delight first, each with the same columns (a
    period without reactions yields one empty chunk: the export is the header alone).
    Products with fewer than K viewers in the period are left out, as on the pages.
    """
    model = model_info()
    rows = (
        _rollup(period)
        .values("product_id")
        .annotate(
            product_name=F("product__name"),
            category_name=F("product__category__name"),
            **{
                column: Sum("seconds", filter=Q(emotion=e), default=0.0)
                for e, column in zip(CLASSES, SECONDS_COLUMNS, strict=True)
            },
            total=Sum("seconds"),
            events=Sum("events"),
            delight_seconds=delight_expr(),
            dislike_seconds=dislike_expr(),
            viewers=Max("viewers"),
        )
        .order_by("-delight_seconds", "product_id")
        .values_list(*(QUERY_NAMES.get(c, c) for c in OVERVIEW_COLUMNS), "viewers")
        .iterator(chunk_size=CSV_CHUNK)
    )
    while True:
        chunk = list(islice(rows, CSV_CHUNK))
        passed = products_with_enough_viewers(period, {row[0]: row[-1] for row in chunk})
        frame = pd.DataFrame([row[:-1] for row in chunk if row[0] in passed], columns=OVERVIEW_COLUMNS)
        net = frame["delight_seconds"] - frame["dislike_seconds"]
        valence = [_ratio(value, seconds) for value, seconds in zip(net, frame["seconds"], strict=True)]
        seconds = [*SECONDS_COLUMNS, "seconds", "delight_seconds", "dislike_seconds"]
        frame[seconds] = _rounded(frame[seconds], 3)
        frame["valence"] = _rounded(pd.Series(valence, dtype=float), 4)
        yield _with_model(frame, model)
        if len(chunk) < CSV_CHUNK:
            return


def product_csv(product: Product, period: Period) -> pd.DataFrame:
    """The product's timeline: one row per day or hour, seconds per emotion and valence.

    Below K viewers in the period: the header alone, as the page shows no timeline.
    """
    buckets = timeline(product, period) if product_has_enough_viewers(product, period) else []
    frame = pd.DataFrame([b.seconds for b in buckets], columns=list(CLASSES)).rename(
        columns=dict(zip(CLASSES, SECONDS_COLUMNS, strict=True))
    )
    frame.insert(0, period.granularity, [b.start.isoformat() for b in buckets])
    frame["seconds"] = [b.total for b in buckets]
    frame["valence"] = _rounded(pd.Series([b.valence for b in buckets], dtype=float), 4)
    frame[[*SECONDS_COLUMNS, "seconds"]] = _rounded(frame[[*SECONDS_COLUMNS, "seconds"]], 3)
    return _with_model(frame, model_info())
