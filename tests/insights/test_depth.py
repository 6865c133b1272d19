"""Analytics depth: reaction over viewing time, arousal, attention, data quality, segments, comparisons."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from emotion import services as capture
from emotion.ml.labels import AROUSAL, arousal
from emotion.models import EmotionObservation
from insights import services
from insights.forms import PeriodError, parse_comparison

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db
QUERY = {"from": PERIOD.start.isoformat(), "to": PERIOD.end.isoformat()}


def test_reaction_over_viewing_time_counts_views_per_second(shop, product):
    viewer = shop.shopper()
    long_view = shop.view(product, viewer, dwell=10.0)
    shop.react(long_view, "happy", 3.0)  # seconds 0, 1, 2
    shop.react(long_view, "sad", 1.5, at=NOON + timedelta(seconds=5))  # seconds 5, 6
    short_view = shop.view(product, shop.shopper(), dwell=2.0)
    shop.react(short_view, "happy", 2.0)  # seconds 0, 1

    seconds = services.viewing_time(product, PERIOD)

    assert len(seconds) == services.VIEWING_SECONDS
    assert [s.views for s in seconds[:11]] == [2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    assert [s.showing["happy"] for s in seconds[:4]] == [2, 2, 1, 0]
    assert [s.showing["sad"] for s in seconds[4:8]] == [0, 1, 1, 0]
    assert seconds[2].share("happy") == 1.0 and seconds[5].share("sad") == 1.0 and seconds[0].share("sad") == 0.0


def test_arousal_weighs_seconds_like_valence():
    assert arousal({"fear": 3.0, "sad": 1.0}) == pytest.approx((3 * AROUSAL["fear"] + AROUSAL["sad"]) / 4)
    assert arousal({}) == 0.0


def _frames(view, labels_and_confidences, version="v1"):
    for i, (label, confidence) in enumerate(labels_and_confidences):
        EmotionObservation.objects.create(
            view=view,
            product=view.product,
            shopper_id=view.shopper_id,
            sequence=i,
            captured_at=view.created_at + timedelta(seconds=i / 2),
            label=label,
            confidence=confidence,
            model_version=version,
        )
    capture.refresh_view_reactions(view)  # what the worker does after storing frames


def test_data_quality_flags_and_attention(shop, product):
    view = shop.view(product, shop.shopper())
    _frames(view, [("", None), ("", None), ("happy", 0.2), ("happy", 0.9)])
    _frames(shop.view(product, shop.shopper()), [("sad", 0.8)], version="v2")

    quality = services.quality(product, PERIOD)

    assert (quality.frames, quality.views, quality.no_face, quality.low_confidence) == (5, 2, 2, 1)
    assert quality.attention == pytest.approx(3 / 5) and quality.frames_per_view == 2.5
    assert quality.model_versions == ["v1", "v2"]
    assert any("frames per view" in flag for flag in quality.flags)
    assert any("2 model versions" in flag for flag in quality.flags)


def test_clean_frames_raise_no_flag(shop, product):
    _frames(shop.view(product, shop.shopper()), [("happy", 0.9)] * 6)
    assert services.quality(product, PERIOD).flags == []


def test_segments_split_new_returning_logged_in_and_anonymous(shop, product, make_product):
    user = get_user_model().objects.create_user("regular", password="x" * 12)
    returning = shop.shopper()
    shop.act(make_product(), returning, "view", at=NOON - timedelta(days=2))  # an earlier visit
    shop.react(shop.view(product, returning), "happy", 4.0)
    newcomer = shop.shopper()
    view = shop.view(product, newcomer)
    view.user = user
    view.save()
    event = shop.react(view, "sad", 2.0)
    event.user = user
    event.save()

    segments = {s.name: s for s in services.segments(product, PERIOD)}

    assert segments["returning viewers"].mix.seconds == 4.0 and segments["returning viewers"].viewers == 1
    assert segments["new viewers"].mix.seconds == 2.0
    assert segments["logged in"].mix.seconds == 2.0 and segments["anonymous"].mix.seconds == 4.0
    assert all(s.enough_viewers for s in segments.values())  # K is 1 in these tests


def test_segments_below_k_hide_their_mix(admin_client, shop, product, settings):
    settings.INSIGHTS_MIN_VIEWERS = 2
    for _ in range(2):
        shop.react(shop.view(product, shop.shopper()), "happy", 4.0)
    body = admin_client.get(reverse("insights:product-reactions", args=[product.pk]), QUERY).json()
    segments = {s["name"]: s for s in body["segments"]}
    assert segments["anonymous"]["valence"] == 1.0 and segments["logged in"]["valence"] is None
    assert len(body["viewing_time"]) == services.VIEWING_SECONDS and body["arousal"] == AROUSAL["happy"]
    assert body["quality"]["frames"] == 0


def test_the_product_page_shows_the_new_reports(admin_client, shop, product):
    shop.react(shop.view(product, shop.shopper(), dwell=6.0), "happy", 3.0)
    content = admin_client.get(reverse("admin:insights_productreaction_product", args=[product.pk]), QUERY)
    text = content.content.decode()
    assert "Reaction over viewing time" in text and "<polyline" in text
    assert "Segments" in text and "Data quality" in text and "arousal" in text


def test_compare_two_products_and_two_periods(admin_client, shop, product, make_product):
    other = make_product(name="Other One")
    shop.react(shop.view(product, shop.shopper()), "happy", 4.0)
    shop.react(shop.view(other, shop.shopper()), "disgust", 4.0)
    url = reverse("admin:insights_productreaction_compare")

    response = admin_client.get(url, {**QUERY, "a": product.pk, "b": other.pk})
    assert response.status_code == 200
    a, b = response.context["sides"]
    assert (a.mix.valence, b.mix.valence) == (1.0, -1.0)

    earlier = {"from_b": "2026-01-01", "to_b": "2026-01-07"}
    a, b = admin_client.get(url, {**QUERY, "a": product.pk, **earlier}).context["sides"]
    assert a.product == b.product and b.period.start.isoformat() == "2026-01-01" and not b.enough_viewers

    assert admin_client.get(url, {"a": "x"}).status_code == 400
    assert admin_client.get(url, {"a": 999_999}).status_code == 404


def test_a_comparison_needs_a_first_product():
    with pytest.raises(PeriodError, match="'a'"):
        parse_comparison({})
    assert parse_comparison({"a": "3"}).product_b == 3
