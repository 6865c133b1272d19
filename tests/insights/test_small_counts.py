"""Small-count protection: no emotion figure built from fewer than K distinct viewers, even after purges."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from emotion import services as capture
from emotion.models import ProductEmotionDaily, ProductViewerSketch, ReactionEvent
from insights import services
from insights.forms import Period

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db
QUERY = {"from": PERIOD.start.isoformat(), "to": PERIOD.end.isoformat()}


@pytest.fixture(autouse=True)
def k_is_five(settings):
    settings.INSIGHTS_MIN_VIEWERS = 5


def watched_by(shop, product, viewers: int, emotion: str = "happy", days: int = 1) -> None:
    """``viewers`` distinct shoppers each react once on each of ``days`` days."""
    for _ in range(viewers):
        shopper = shop.shopper()
        for day in range(days):
            shop.react(shop.view(product, shopper, at=NOON - timedelta(days=day)), emotion, 4.0)


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode())))


def test_four_viewers_show_no_emotion_figures(admin_client, shop, product):
    watched_by(shop, product, 4)
    report = services.product_reactions(product, PERIOD)
    assert not report.enough_viewers and report.mix.seconds == 0
    assert report.timeline == report.positive_moments == [] and [c.reaction for c in report.conversion] == ["all"]
    assert report.traffic.views == 4  # traffic is no emotion figure

    page = admin_client.get(reverse("admin:insights_productreaction_product", args=[product.pk]), QUERY)
    content = page.content.decode()
    assert "Too few viewers" in content and "Longest positive reactions" not in content
    body = admin_client.get(reverse("insights:product-reactions", args=[product.pk]), QUERY).json()
    assert (body["enough_viewers"], body["min_viewers"], body["seconds"], body["timeline"]) == (False, 5, 0.0, [])
    export = admin_client.get(reverse("admin:insights_productreaction_product_export", args=[product.pk]), QUERY)
    assert len(csv_rows(export)) == 1  # the header alone
    overview = admin_client.get(reverse("admin:insights_productreaction_changelist"), QUERY)
    assert overview.context["overview"].by_delight == [] and not overview.context["overview"].enough_viewers
    assert len(csv_rows(admin_client.get(reverse("admin:insights_productreaction_export"), QUERY))) == 1


def test_five_viewers_show_them(admin_client, shop, product):
    watched_by(shop, product, 5)
    report = services.product_reactions(product, PERIOD)
    assert report.enough_viewers and report.mix.seconds == pytest.approx(20.0) and len(report.timeline) == 7
    overview = services.overview(PERIOD)
    assert [p.totals.product_id for p in overview.by_delight] == [product.pk] and overview.enough_viewers
    assert len(csv_rows(admin_client.get(reverse("admin:insights_productreaction_export"), QUERY))) == 2


def test_one_viewer_on_five_days_is_one_viewer(shop, product):
    watched_by(shop, product, 1, days=5)
    assert ProductEmotionDaily.objects.filter(product=product).count() == 5  # five days, one viewer each
    assert not services.product_reactions(product, PERIOD).enough_viewers


def test_an_account_on_several_devices_is_one_viewer(shop, product):
    user = get_user_model().objects.create_user("returning", password="x" * 12)
    for _ in range(5):
        view = shop.view(product, shop.shopper())
        view.user = user
        view.save()
        event = shop.react(view, "happy", 3.0)
        ReactionEvent.objects.filter(pk=event.pk).update(user=user)
    capture.refresh_daily_rollup(product.pk, NOON.date())
    assert ProductEmotionDaily.objects.get(product=product).viewers == 1
    assert not services.product_reactions(product, PERIOD).enough_viewers


def test_the_rule_survives_the_purge_of_raw_events(shop, product, make_product):
    watched_by(shop, product, 5, days=2)
    few = make_product(name="Few Fans")
    watched_by(shop, few, 3, days=2)
    ReactionEvent.objects.all().delete()  # what the retention purge does; the rollup and sketches stay

    assert services.product_reactions(product, PERIOD).enough_viewers
    assert not services.product_reactions(few, PERIOD).enough_viewers
    one_day = Period(NOON.date(), NOON.date())
    assert services.product_reactions(product, one_day).enough_viewers
    all_viewers = ProductViewerSketch.objects.filter(product=product, segment=ProductViewerSketch.ALL)
    assert all_viewers.count() == 10  # 5 keys on each of 2 days


def test_erasing_a_viewer_recounts(shop, product):
    watched_by(shop, product, 5)
    assert services.product_reactions(product, PERIOD).enough_viewers
    leaver = ReactionEvent.objects.filter(product=product).first().shopper_id
    capture.erase_emotion_data(capture.Shopper(shopper_id=leaver, user=None))
    assert not services.product_reactions(product, PERIOD).enough_viewers


def test_categories_below_k_say_so(admin_client, shop, make_product, other_category):
    watched_by(shop, make_product(name="Popular"), 5)
    watched_by(shop, make_product(name="Niche", category=other_category), 2)
    rows = {r.name: r for r in services.overview(PERIOD).categories}
    assert rows[other_category.name].enough_viewers is False and all(
        r.enough_viewers for name, r in rows.items() if name != other_category.name
    )
    content = admin_client.get(reverse("admin:insights_productreaction_changelist"), QUERY).content.decode()
    assert "too few viewers (fewer than 5)" in content


def test_most_dislike_lists_only_products_with_negative_valence(shop, make_product):
    liked_with_frowns, disliked = make_product(name="Mostly Liked"), make_product(name="Disliked")
    for _ in range(5):
        viewer = shop.shopper()
        view = shop.view(liked_with_frowns, viewer)
        shop.react(view, "happy", 6.2)
        shop.react(view, "disgust", 5.0, at=NOON + timedelta(seconds=10))  # valence +0.11, dislike 5 s
        shop.react(shop.view(disliked, viewer), "sad", 2.0)  # valence -0.5, dislike 1 s
    data = services.overview(PERIOD)
    assert [p.name for p in data.by_dislike] == ["Disliked"]
    assert {p.name for p in data.by_delight} == {"Mostly Liked"}
