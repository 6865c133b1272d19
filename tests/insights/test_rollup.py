"""The per-product daily rollup the pages read: it matches a recomputation from raw events."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from emotion import services
from emotion.models import ProductEmotionDaily, ReactionEvent
from insights import services as reports
from insights.forms import parse_period
from shop.services import Shopper, record_view

pytestmark = pytest.mark.django_db


def rollup() -> dict[tuple, tuple[float, int]]:
    return {
        (r.product_id, r.day, r.emotion): (pytest.approx(r.seconds), r.events, r.viewers)
        for r in ProductEmotionDaily.objects.all()
    }


def recomputed() -> dict[tuple, tuple[float, int]]:
    return {
        (r["product_id"], r["day"], r["emotion"]): (r["seconds"], r["events"], r["viewers"])
        for r in services.recomputed_rollup()
    }


def observe(view, labels: list[str], start) -> None:
    for i, label in enumerate(labels):
        result = services.Classification(label or None, 0.9 if label else None)
        services.record_observation(view, i, start + timedelta(seconds=i * 0.5), result, "test")
    services.refresh_view_reactions(view)


def test_the_pipelines_rollup_matches_a_full_recomputation(make_product):
    products = [make_product(), make_product()]
    now = timezone.now()
    for n in range(6):
        shopper = Shopper(uuid.uuid4(), None)
        services.grant_consent(shopper)
        view = record_view(shopper, products[n % 2])
        labels = ["happy"] * (2 + n) + [""] + ["disgust", "disgust"] + ["surprise"] * n
        observe(view, labels, now - timedelta(days=n % 3, minutes=n))

    assert ReactionEvent.objects.count() > 6
    assert rollup() == recomputed()


def test_rebuild_reproduces_the_rollup_and_keeps_purged_days(shop, product):
    old = timezone.now() - timedelta(days=100)
    shop.react(shop.view(product, shop.shopper(), at=old), "happy", 5.0)
    view = shop.view(product, shop.shopper(), at=timezone.now())
    shop.react(view, "sad", 2.0)
    shop.react(view, "sad", 3.0, at=view.created_at + timedelta(seconds=5))
    expected = rollup()
    services.purge_expired(retention_days=30)
    ProductEmotionDaily.objects.filter(day=timezone.localdate()).update(seconds=0, events=0)

    assert services.rebuild_rollup() == 1
    assert rollup() == expected
    assert ProductEmotionDaily.objects.get(day=timezone.localdate(old)).seconds == 5.0


def test_seed_reactions_writes_events_conversions_and_a_matching_rollup(make_product):
    for _ in range(5):
        make_product()

    call_command("seed_reactions", events=3000, days=10, shoppers=50)

    assert ReactionEvent.objects.count() == 3000
    assert ProductEmotionDaily.objects.exists() and rollup() == recomputed()
    report = reports.product_reactions(
        ReactionEvent.objects.first().product,
        parse_period({"from": str(timezone.localdate() - timedelta(days=11))}),
    )
    assert report.traffic.consenting_viewers > 0 and report.conversion[-1].viewers > 0


def test_seed_reactions_needs_a_catalog(db):
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_reactions", events=10)


def test_seeded_reactions_are_marked_synthetic_and_the_reports_say_so(make_product, admin_client, settings):
    settings.INSIGHTS_MIN_VIEWERS = 1
    for _ in range(3):
        make_product()
    call_command("seed_reactions", events=400, days=5, shoppers=20)
    assert not ReactionEvent.objects.filter(synthetic=False).exists()
    period = parse_period({"from": str(timezone.localdate() - timedelta(days=6))})
    assert reports.overview(period).synthetic
    page = admin_client.get("/admin/insights/productreaction/", period.query())
    assert "Synthetic data:" in page.content.decode()

    call_command("seed_reactions", events=400, days=5, once=True)  # the demo script's second run adds nothing
    assert ReactionEvent.objects.count() == 400


def test_real_reactions_are_not_synthetic(make_product):
    product = make_product()
    shopper = Shopper(shopper_id=uuid.uuid4(), user=None)
    view = record_view(shopper, product)
    event = ReactionEvent.objects.create(
        view=view,
        product=product,
        shopper_id=shopper.shopper_id,
        emotion="happy",
        started_at=view.created_at,
        ended_at=view.created_at,
        duration_seconds=1.0,
        mean_confidence=0.9,
        frames=2,
    )
    assert not event.synthetic
    day = timezone.localdate(view.created_at)
    assert not reports.overview(parse_period({"from": str(day), "to": str(day)})).synthetic
