"""Serving a panel under its running experiment, and the per-shopper table the report analyses.

Each panel request looks up the panel's running experiment (cached in-process for
``RECOMMENDER_EXPERIMENT_CACHE_SECONDS``, so starting or stopping one takes effect within
that time), assigns the shopper by a hash of their session shopper id and the experiment
(sticky: the id survives login, and no assignment is stored), ranks the list with the arm's
engine (A/B) or mixes both arms' lists by team draft (interleaving), and logs the list.
"""

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone
from django.utils.http import urlencode

from emotion.models import AffectSummary
from recommender.ml import experiments as stats
from recommender.ml.simulate import Traffic
from shop.models import Interaction, Product
from shop.services import Shopper

from . import services, tracking
from .models import Click, Experiment, ImpressionList
from .store import current_model

# The query parameters a recommended link carries (read by ``recommender.middleware``).
CLICK_LIST, CLICK_POSITION = "rl", "rp"

_running: dict[str, tuple[float, Experiment | None]] = {}


def running_experiment(panel: str) -> Experiment | None:
    """The panel's running experiment, read from the database at most every few seconds per process."""
    now = time.monotonic()
    cached = _running.get(panel)
    if cached is not None and now - cached[0] < settings.RECOMMENDER_EXPERIMENT_CACHE_SECONDS:
        return cached[1]
    experiment = Experiment.objects.filter(panel=panel, started_at__isnull=False, stopped_at__isnull=True).first()
    _running[panel] = (now, experiment)
    return experiment


def forget_running() -> None:
    """Drop the cache (the admin after start/stop, and tests)."""
    _running.clear()


def arm_of(experiment: Experiment, shopper: Shopper) -> int:
    return stats.assign(str(shopper.shopper_id), experiment.key, experiment.share_b)


def _variant(model_name: str, emotion: bool) -> str:
    model = current_model(model_name)
    engine = f"{model_name}@{model.version}" if model is not None else f"{model_name}:popularity"
    return f"{engine}{'+emotion' if emotion else ''}"


@dataclass(frozen=True)
class Shown:
    """A panel's items and the list id its links carry."""

    items: list[services.Recommendation]
    list_id: uuid.UUID
    count: int

    def link(self, position: int) -> str:
        """The item's product page, naming this list and position so the click is attributed."""
        query = urlencode({CLICK_LIST: self.list_id, CLICK_POSITION: position})
        return f"{self.items[position].product.get_absolute_url()}?{query}"

    def cards(self) -> list[tuple[services.Recommendation, str]]:
        return [(item, self.link(k)) for k, item in enumerate(self.items)]


def _rank(
    shopper: Shopper, product: Product | None, limit: int, offset: int, model_name: str, emotion: bool, home: bool
) -> services.RecommendationPage:
    if product is None:
        return services.recommend_for_shopper(
            shopper, limit, offset, complement_popular=home, model_name=model_name, emotion=emotion
        )
    return services.similar(product, services.Owner.of(shopper), limit, offset, model_name=model_name, emotion=emotion)


def show(panel: str, shopper: Shopper, product: Product | None, limit: int, offset: int = 0) -> Shown:
    """Rank what ``panel`` shows this shopper, under its running experiment if any, and log it."""
    experiment = running_experiment(panel)
    home = panel == "home"
    arm: int | None = None
    teams: list[int] | None = None
    if experiment is None:
        page = _rank(shopper, product, limit, offset, "default", True, home)
        items, variant = page.items, _variant("default", True)
    elif experiment.design == Experiment.Design.AB:
        arm = arm_of(experiment, shopper)
        model_name, emotion = (
            (experiment.arm_a_model, experiment.arm_a_emotion)
            if arm == stats.A
            else (experiment.arm_b_model, experiment.arm_b_emotion)
        )
        page = _rank(shopper, product, limit, offset, model_name, emotion, home)
        items, variant = page.items, _variant(model_name, emotion)
    else:
        a = _rank(shopper, product, limit + offset, 0, experiment.arm_a_model, experiment.arm_a_emotion, home)
        b = _rank(shopper, product, limit + offset, 0, experiment.arm_b_model, experiment.arm_b_emotion, home)
        by_id = {r.product.pk: r for r in b.items} | {r.product.pk: r for r in a.items}
        rng = np.random.default_rng()
        mixed = stats.team_draft(
            [r.product.pk for r in a.items],
            [r.product.pk for r in b.items],
            limit + offset,
            list(rng.random(limit + offset) < 0.5),
        )
        items = [by_id[pk] for pk in mixed.items][offset:]
        teams = mixed.teams[offset:]
        page = services.RecommendationPage(max(a.count, b.count), items)
        variant = f"{_variant(experiment.arm_a_model, experiment.arm_a_emotion)} | " + _variant(
            experiment.arm_b_model, experiment.arm_b_emotion
        )
    list_id = tracking.record_list(
        shopper_id=shopper.shopper_id,
        user_id=shopper.user.pk if shopper.user is not None else None,
        panel=panel,
        items=[r.product.pk for r in items],
        variant=variant,
        context_product_id=product.pk if product is not None else None,
        experiment_id=experiment.pk if experiment is not None else None,
        arm=arm,
        teams=teams,
    )
    return Shown(items, list_id, page.count)


# --- The report's input -----------------------------------------------------------------------------


def shopper_table(experiment: Experiment) -> stats.ShopperTable:
    """One row per shopper who saw the experiment's lists: impressions, attributed clicks, carts, purchases."""
    lists = {row.id: row for row in ImpressionList.objects.filter(experiment=experiment)}
    clicks = list(Click.objects.filter(list_id__in=list(lists)))
    shoppers = sorted({row.shopper_id for row in lists.values()})
    index = {shopper: k for k, shopper in enumerate(shoppers)}
    n = len(shoppers)
    arm = np.zeros(n, dtype=np.int64)
    impressions, clicked, carts, purchases = (np.zeros(n) for _ in range(4))
    credit = np.zeros((2, n))
    for row in lists.values():
        k = index[row.shopper_id]
        impressions[k] += 1
        arm[k] = row.arm if row.arm is not None else stats.A
    # One click per list and position: reloading the product page from the same link is not a second click.
    seen: set[tuple[uuid.UUID, int]] = set()
    for click, _ in tracking.clicked_products(lists, clicks):
        if (click.list_id, click.position) in seen:
            continue
        seen.add((click.list_id, click.position))
        row = lists[click.list_id]
        k = index[row.shopper_id]
        clicked[k] += 1
        if row.teams:
            credit[int(row.teams[click.position]), k] += 1
    counted: dict[str, set[tuple[uuid.UUID, int]]] = defaultdict(set)
    for outcome in tracking.attribute(lists, clicks):
        if (outcome.list_id, outcome.product_id) in counted[outcome.kind]:
            continue
        counted[outcome.kind].add((outcome.list_id, outcome.product_id))
        k = index[lists[outcome.list_id].shopper_id]
        (carts if outcome.kind == "cart" else purchases)[k] += 1
    reacting = set(AffectSummary.objects.filter(shopper_id__in=shoppers).values_list("shopper_id", flat=True))
    triggered = np.array([shopper in reacting for shopper in shoppers], dtype=bool)
    interleaved = experiment.design == Experiment.Design.INTERLEAVE
    return stats.ShopperTable(
        arm,
        impressions,
        clicked,
        carts,
        purchases,
        triggered,
        credit[stats.A] if interleaved else None,
        credit[stats.B] if interleaved else None,
    )


@dataclass(frozen=True)
class Report:
    experiment: Experiment
    everyone: stats.Analysis
    triggered: stats.Analysis
    read_at: object


def report(experiment: Experiment) -> Report:
    """Everyone, and the triggered segment (shoppers with emotion data, where the arms can differ)."""
    table = shopper_table(experiment)
    horizon = experiment.horizon_shoppers
    everyone = stats.analyse(table, experiment.share_b, experiment.planned_lift, horizon)
    if horizon is None and everyone.required is not None:
        everyone = stats.analyse(table, experiment.share_b, experiment.planned_lift, everyone.required)
    triggered = stats.analyse(table.subset(table.triggered), experiment.share_b, experiment.planned_lift)
    return Report(experiment, everyone, triggered, timezone.now())


# --- The demo's simulated experiment ---------------------------------------------------------------

SIMULATED_NAME = "CF vs CF + emotion (SIMULATED traffic)"


def simulate_experiment(shoppers: int, lift: float, seed: int = 0) -> Experiment:
    """A stopped A/B experiment on the home panel filled with simulated shoppers, marked ``simulated``.

    Shoppers (new random ids, assigned by the real hash) see lists of real products, click
    with a personal propensity (``recommender.ml.simulate.Traffic``), arm B's multiplied by
    ``1 + lift``; some clicks become add-to-carts and purchases, logged as interactions just
    after the click so that attribution finds them. Only for the demo shop: the interactions
    are as made up as the rest of its history.
    """
    rng = np.random.default_rng(seed)
    traffic = Traffic()
    products = list(Product.objects.available().values_list("pk", flat=True)[:200])
    if len(products) < 8:
        raise ValueError("The simulated experiment needs at least 8 products (run seed_demo first).")
    now = timezone.now()
    experiment = Experiment.objects.create(
        name=SIMULATED_NAME,
        panel="home",
        simulated=True,
        planned_lift=lift,
        started_at=now - timedelta(days=14),
        stopped_at=now,
    )
    a = traffic.click_rate * traffic.concentration
    lists, clicks, outcomes = [], [], []
    for _ in range(shoppers):
        shopper = uuid.UUID(bytes=rng.bytes(16), version=4)
        arm = stats.assign(str(shopper), experiment.key, experiment.share_b)
        propensity = min(1.0, rng.beta(a, traffic.concentration - a) * (1 + lift if arm == stats.B else 1.0))
        for _ in range(1 + rng.poisson(traffic.impressions_mean - 1)):
            shown_at = experiment.started_at + timedelta(seconds=float(rng.uniform(0, 13 * 86_400)))
            items = [int(p) for p in rng.choice(products, 8, replace=False)]
            row = ImpressionList(
                shopper_id=shopper,
                panel="home",
                experiment=experiment,
                arm=arm,
                variant=f"simulated:{experiment.arm_label(arm)}",
                items=items,
                first_shown_at=shown_at,
                last_shown_at=shown_at,
            )
            lists.append(row)
            if rng.random() >= propensity:
                continue
            position = int(rng.integers(0, 8))
            clicked_at = shown_at + timedelta(seconds=20)
            clicks.append(Click(list_id=row.id, position=position, shopper_id=shopper, created_at=clicked_at))
            if rng.random() < traffic.cart_rate:
                outcomes.append((shopper, items[position], "cart", clicked_at + timedelta(minutes=2)))
                if rng.random() < traffic.purchase_rate:
                    outcomes.append((shopper, items[position], "purchase", clicked_at + timedelta(minutes=9)))
    ImpressionList.objects.bulk_create(lists, batch_size=2_000)
    Click.objects.bulk_create(clicks, batch_size=2_000)
    Interaction.objects.bulk_create(
        (Interaction(shopper_id=s, product_id=p, kind=k, created_at=at) for s, p, k, at in outcomes), batch_size=2_000
    )
    return experiment
