"""Online experiments, pure: sticky assignment, team-draft interleaving and the statistics.

The same functions serve the shop (``recommender.experiments``), build the staff report and
run in the simulations that check them (``recommender.ml.simulate``), so what the benchmark
proves is what staff read. No Django here.

Statistics follow the usual hygiene for online tests: the unit of analysis is the shopper
(assignment is per shopper, so impressions of one shopper are not independent): rates per
impression are ratio metrics with delta-method variances over shoppers, rates per shopper are
proportions over shoppers. The horizon is fixed in advance (``required_shoppers``); reading a
result before it is reached is flagged, because repeated looks inflate false positives.
"""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

A, B = 0, 1
ALPHA = 0.05
# A sample-ratio mismatch this unlikely under the configured split means assignment or logging
# is broken (the customary threshold: a real split misses it once in a thousand experiments).
SRM_ALPHA = 0.001


def bucket(unit: str, key: str) -> float:
    """A uniform number in [0, 1) fixed by the shopper and the experiment: sticky, independent across experiments."""
    digest = hashlib.sha256(f"{key}\x00{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(unit: str, key: str, share_b: float) -> int:
    """The arm (``A`` or ``B``) of one shopper in one experiment; ``share_b`` of shoppers get B."""
    return B if bucket(unit, key) < share_b else A


# --- Team-draft interleaving (Radlinski, Kurup and Joachims 2008) ---------------------------------


@dataclass(frozen=True)
class Interleaved:
    items: list[int]
    teams: list[int]  # A or B: the arm that contributed each item


def team_draft(ranking_a: Sequence[int], ranking_b: Sequence[int], length: int, coins: Sequence[bool]) -> Interleaved:
    """Mix two rankings: the team with fewer picks (a coin, ``coins[step]``, on ties) adds its best unpicked item.

    Each click is then credited to the team that contributed the clicked item. ``coins`` has one
    flip per step (True: A picks first), so the same flips give the same list as ``team_draft_batch``.
    """
    items: list[int] = []
    teams: list[int] = []
    picked: set[int] = set()
    counts = [0, 0]
    rankings = (list(ranking_a), list(ranking_b))
    cursors = [0, 0]
    for step in range(length):
        left = [_skip(rankings[t], cursors[t], picked) for t in (A, B)]
        available = [left[t] < len(rankings[t]) for t in (A, B)]
        if not any(available):
            break
        behind = A if counts[A] < counts[B] else B
        team = behind if counts[A] != counts[B] else (A if coins[step] else B)
        if not available[team]:
            team = 1 - team
        cursors[team] = left[team]
        item = rankings[team][cursors[team]]
        items.append(item)
        teams.append(team)
        picked.add(item)
        counts[team] += 1
    return Interleaved(items, teams)


def _skip(ranking: list[int], cursor: int, picked: set[int]) -> int:
    while cursor < len(ranking) and ranking[cursor] in picked:
        cursor += 1
    return cursor


def team_draft_batch(
    ranking_a: NDArray[np.int64], ranking_b: NDArray[np.int64], length: int, coins: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``team_draft`` for many shoppers at once (rows), when both rankings order the same candidates.

    Rankings are (shoppers, candidates) permutations of ``0..candidates-1`` with ``length <=
    candidates``, so neither team runs out. Returns items and teams, each (shoppers, length).
    """
    shoppers, candidates = ranking_a.shape
    rows = np.arange(shoppers)
    picked = np.zeros((shoppers, candidates), dtype=bool)
    counts = np.zeros((shoppers, 2), dtype=np.int64)
    items = np.empty((shoppers, length), dtype=np.int64)
    teams = np.empty((shoppers, length), dtype=np.int64)
    for step in range(length):
        tie = counts[:, A] == counts[:, B]
        team = np.where(tie, np.where(coins[:, step], A, B), np.where(counts[:, A] < counts[:, B], A, B))
        ranking = np.where((team == A)[:, None], ranking_a, ranking_b)
        first = np.argmax(~picked[rows[:, None], ranking], axis=1)
        item = ranking[rows, first]
        items[:, step], teams[:, step] = item, team
        picked[rows, item] = True
        counts[rows, team] += 1
    return items, teams


# --- Estimates ----------------------------------------------------------------------------------


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


@dataclass(frozen=True)
class Rate:
    """A rate with its standard error and 95% (1 - alpha) interval."""

    value: float
    se: float
    low: float
    high: float
    numerator: float
    denominator: float


def ratio_rate(numerator: NDArray[np.floating], denominator: NDArray[np.floating], alpha: float = ALPHA) -> Rate:
    """Σ numerator / Σ denominator over shoppers, with the delta-method standard error.

    Per impression (denominator = impressions per shopper) it accounts for one shopper's
    impressions being correlated; per shopper (denominator = 1) it is the plain proportion.
    """
    y, x = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    n, total = len(x), float(x.sum())
    if n < 2 or total <= 0:
        return Rate(math.nan, math.nan, math.nan, math.nan, float(y.sum()), total)
    rate = float(y.sum()) / total
    residual = y - rate * x
    se = math.sqrt(float(residual @ residual) / (n - 1) / n) / (total / n)
    z = _z(alpha)
    return Rate(rate, se, rate - z * se, rate + z * se, float(y.sum()), total)


@dataclass(frozen=True)
class Comparison:
    """Arm B against arm A on one metric."""

    a: Rate
    b: Rate
    difference: float
    lift: float  # b / a - 1
    lift_low: float
    lift_high: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def compare(a: Rate, b: Rate, alpha: float = ALPHA) -> Comparison:
    """Difference (unpooled z test) and relative lift with a delta-method interval on the log ratio."""
    difference = b.value - a.value
    se = math.hypot(a.se, b.se)
    p_value = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else (1.0 if difference == 0 else 0.0)
    if not (a.value > 0 and b.value > 0):
        lift = (b.value / a.value - 1) if a.value > 0 else math.nan
        return Comparison(a, b, difference, lift, math.nan, math.nan, p_value if math.isfinite(se) else math.nan)
    log_ratio = math.log(b.value / a.value)
    log_se = math.hypot(a.se / a.value, b.se / b.value)
    z = _z(alpha)
    return Comparison(
        a,
        b,
        difference,
        math.exp(log_ratio) - 1,
        math.exp(log_ratio - z * log_se) - 1,
        math.exp(log_ratio + z * log_se) - 1,
        p_value,
    )


@dataclass(frozen=True)
class Preference:
    """Interleaving: among shoppers whose clicks favoured one arm, how far B is preferred.

    ``delta`` = (shoppers preferring B - shoppers preferring A) / shoppers with a click, in
    [-1, 1]; 0 means no preference.
    """

    delta: float
    low: float
    high: float
    p_value: float
    prefer_a: int
    prefer_b: int
    ties: int


def interleaving_preference(
    credit_a: NDArray[np.floating], credit_b: NDArray[np.floating], alpha: float = ALPHA
) -> Preference:
    """Per shopper the sign of (clicks credited to B - clicks credited to A), averaged over shoppers who clicked."""
    ca, cb = np.asarray(credit_a, dtype=np.float64), np.asarray(credit_b, dtype=np.float64)
    clicked = (ca + cb) > 0
    sign = np.sign(cb[clicked] - ca[clicked])
    n = int(clicked.sum())
    prefer_a, prefer_b = int((sign < 0).sum()), int((sign > 0).sum())
    if n < 2:
        return Preference(math.nan, math.nan, math.nan, math.nan, prefer_a, prefer_b, n - prefer_a - prefer_b)
    delta = float(sign.mean())
    se = float(sign.std(ddof=1)) / math.sqrt(n)
    z = _z(alpha)
    p_value = float(2 * stats.norm.sf(abs(delta) / se)) if se > 0 else (1.0 if delta == 0 else 0.0)
    return Preference(delta, delta - z * se, delta + z * se, p_value, prefer_a, prefer_b, n - prefer_a - prefer_b)


@dataclass(frozen=True)
class SampleRatio:
    observed_a: int
    observed_b: int
    expected_share_b: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_ALPHA


def sample_ratio(shoppers_a: int, shoppers_b: int, share_b: float) -> SampleRatio:
    """χ² goodness of fit of the shoppers per arm to the configured split."""
    total = shoppers_a + shoppers_b
    if total == 0:
        return SampleRatio(0, 0, share_b, 1.0)
    expected = [total * (1 - share_b), total * share_b]
    p_value = float(stats.chisquare([shoppers_a, shoppers_b], expected).pvalue)
    return SampleRatio(shoppers_a, shoppers_b, share_b, p_value)


def required_shoppers(
    baseline: float, lift: float, share_b: float = 0.5, alpha: float = ALPHA, power: float = 0.8
) -> int:
    """Shoppers (both arms together) for the unpooled z test to detect a relative ``lift`` of a per-shopper rate.

    n = (z_{α/2} + z_β)² (p_a q_a / (1 - s) + p_b q_b / s) / (p_b - p_a)², s the share in B.
    """
    p_a = baseline
    p_b = baseline * (1 + lift)
    if not (0 < p_a < 1 and 0 < p_b < 1 and 0 < share_b < 1) or p_a == p_b:
        raise ValueError("baseline and baseline × (1 + lift) must be distinct rates in (0, 1)")
    variance = p_a * (1 - p_a) / (1 - share_b) + p_b * (1 - p_b) / share_b
    return math.ceil((_z(alpha) + float(stats.norm.ppf(power))) ** 2 * variance / (p_b - p_a) ** 2)


# --- The whole analysis ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopperTable:
    """One row per shopper in the experiment: arm, impressions and attributed outcomes.

    For interleaving, ``arm`` is unused and ``credit_a`` / ``credit_b`` hold the clicks
    credited to each arm; ``triggered`` marks shoppers for whom the arms can differ (with
    emotion data, for CF against CF + emotion).
    """

    arm: NDArray[np.int64]
    impressions: NDArray[np.float64]
    clicks: NDArray[np.float64]
    carts: NDArray[np.float64]
    purchases: NDArray[np.float64]
    triggered: NDArray[np.bool_]
    credit_a: NDArray[np.float64] | None = None
    credit_b: NDArray[np.float64] | None = None

    def subset(self, mask: NDArray[np.bool_]) -> "ShopperTable":
        pick = {name: getattr(self, name) for name in ("credit_a", "credit_b")}
        return ShopperTable(
            self.arm[mask],
            self.impressions[mask],
            self.clicks[mask],
            self.carts[mask],
            self.purchases[mask],
            self.triggered[mask],
            *(value[mask] if value is not None else None for value in pick.values()),
        )


METRICS = ("clicks", "carts", "purchases")


@dataclass(frozen=True)
class MetricResult:
    metric: str
    per_impression: Comparison
    per_shopper: Comparison


@dataclass(frozen=True)
class Analysis:
    shoppers: tuple[int, int]
    impressions: tuple[int, int]
    metrics: list[MetricResult]
    sample_ratio: SampleRatio | None  # None for interleaving: there are no arms to split
    required: int | None  # shoppers needed for the planned lift on the per-shopper click rate
    horizon: int | None
    preference: Preference | None = None

    @property
    def total_shoppers(self) -> int:
        return sum(self.shoppers)

    @property
    def horizon_reached(self) -> bool:
        return self.horizon is not None and self.total_shoppers >= self.horizon

    @property
    def more_needed(self) -> int | None:
        target = self.horizon if self.horizon is not None else self.required
        return None if target is None else max(0, target - self.total_shoppers)


def analyse(
    table: ShopperTable, share_b: float, planned_lift: float | None = None, horizon: int | None = None
) -> Analysis:
    """Every figure the report shows, for A/B (per arm) and, when credits are given, interleaving."""
    if table.credit_a is not None and table.credit_b is not None:
        # Interleaving: every shopper sees both arms in one list, so only the preference compares them.
        preference = interleaving_preference(table.credit_a, table.credit_b)
        total = (len(table.arm), 0)
        return Analysis(total, (int(table.impressions.sum()), 0), [], None, None, horizon, preference)
    arms = [table.arm == A, table.arm == B]
    metrics = []
    for metric in METRICS:
        values = getattr(table, metric)
        per_impression = [ratio_rate(values[m], table.impressions[m]) for m in arms]
        per_shopper = [ratio_rate((values[m] > 0).astype(np.float64), np.ones(int(m.sum()))) for m in arms]
        metrics.append(MetricResult(metric, compare(*per_impression), compare(*per_shopper)))
    required = None
    baseline = metrics[0].per_shopper.a.value
    if planned_lift is not None and 0 < baseline < 1 and 0 < baseline * (1 + planned_lift) < 1:
        required = required_shoppers(baseline, planned_lift, share_b)
    counts = (int(arms[A].sum()), int(arms[B].sum()))
    return Analysis(
        counts,
        (int(table.impressions[arms[A]].sum()), int(table.impressions[arms[B]].sum())),
        metrics,
        sample_ratio(*counts, share_b),
        required,
        horizon,
    )
