"""Aggregation correctness on hand-made reaction events."""

import json
from datetime import date, timedelta

import pytest

from emotion.ml.labels import CLASSES
from insights import forms, services
from insights.api import ProductReactionsSerializer
from insights.forms import Period
from shop.models import Interaction

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db


def test_emotion_mix_shares_durations_and_valence(shop, product):
    viewer = shop.shopper()
    view = shop.view(product, viewer)
    shop.react(view, "happy", 6.0)
    shop.react(view, "happy", 2.0, at=NOON + timedelta(seconds=10))
    shop.react(view, "disgust", 2.0, at=NOON + timedelta(seconds=20))
    shop.react(shop.view(product, viewer, at=NOON - timedelta(days=2)), "neutral", 10.0)

    mix = services.product_reactions(product, PERIOD).mix

    stats = {s.emotion: s for s in mix.emotions}
    assert [s.emotion for s in mix.emotions] == list(CLASSES)
    assert sum(s.share for s in mix.emotions) == pytest.approx(1.0)
    assert mix.seconds == pytest.approx(20.0) and mix.events == 4
    assert stats["happy"].share == pytest.approx(0.4) and stats["happy"].mean_duration == pytest.approx(4.0)
    assert stats["disgust"].mean_duration == pytest.approx(2.0)
    assert stats["angry"].seconds == 0 and stats["angry"].mean_duration == 0
    assert mix.delight == pytest.approx(8.0) and mix.dislike == pytest.approx(2.0)
    assert mix.valence == pytest.approx((8.0 - 2.0) / 20.0)


def test_an_empty_product_shows_zeros(product):
    report = services.product_reactions(product, PERIOD)

    assert report.traffic == services.Traffic(views=0, viewers=0, consenting_viewers=0, mean_dwell=None)
    assert report.mix.seconds == 0 and report.mix.valence == 0
    assert all(s.share == 0 and s.mean_duration == 0 for s in report.mix.emotions)
    assert not report.enough_viewers and report.timeline == []  # no viewer at all is fewer than K
    assert report.positive_moments == report.negative_moments == []
    assert report.conversion == [services.Conversion("all", 0, 0, 0)]
    assert report.conversion[0].cart_rate == 0
    assert ProductReactionsSerializer(report).data["seconds"] == 0  # the API can serialise it


def test_traffic_counts_views_viewers_dwell_and_consent_at_view_time(shop, product):
    consenting = shop.shopper()
    late = shop.shopper(consent_at=NOON + timedelta(hours=1))  # consented after their view
    never = shop.shopper(consent_at=None)
    shop.view(product, consenting, dwell=10.0)
    shop.view(product, consenting, dwell=20.0)
    shop.view(product, late, dwell=30.0)
    shop.view(product, never, dwell=None)
    shop.view(product, never, at=NOON - timedelta(days=30))  # outside the period

    traffic = services.traffic(product, PERIOD)

    assert traffic.views == 4
    assert traffic.viewers == 3
    assert traffic.consenting_viewers == 1
    assert traffic.mean_dwell == pytest.approx(20.0)


def test_daily_timeline_covers_every_day(shop, product):
    view = shop.view(product, shop.shopper())
    shop.react(view, "happy", 3.0)
    shop.react(view, "sad", 1.0, at=NOON + timedelta(minutes=1))
    shop.react(shop.view(product, shop.shopper(), at=NOON - timedelta(days=3)), "angry", 5.0)

    buckets = services.timeline(product, PERIOD)

    assert [b.start for b in buckets] == [PERIOD.start + timedelta(days=d) for d in range(7)]
    by_day = {b.start: b for b in buckets}
    assert by_day[NOON.date()].seconds["happy"] == 3.0 and by_day[NOON.date()].total == 4.0
    assert by_day[NOON.date() - timedelta(days=3)].seconds == {e: (5.0 if e == "angry" else 0.0) for e in CLASSES}
    assert sum(b.total for b in buckets) == pytest.approx(9.0)


def test_hourly_timeline_reads_the_raw_events(shop, product):
    view = shop.view(product, shop.shopper())
    shop.react(view, "happy", 3.0)
    shop.react(view, "surprise", 2.0, at=NOON + timedelta(hours=2, minutes=5))
    period = Period(NOON.date(), NOON.date(), granularity="hour")

    buckets = services.timeline(product, period)

    assert len(buckets) == 24
    assert buckets[12].seconds["happy"] == 3.0
    assert buckets[14].seconds["surprise"] == 2.0
    assert sum(b.total for b in buckets) == pytest.approx(5.0)


def test_top_moments_are_the_longest_positive_and_negative_reactions(shop, product):
    view = shop.view(product, shop.shopper())
    for i, (emotion, seconds) in enumerate([("happy", 3), ("surprise", 9), ("happy", 5), ("sad", 4), ("neutral", 30)]):
        shop.react(view, emotion, seconds, at=NOON + timedelta(seconds=40 * i))

    report = services.product_reactions(product, PERIOD)

    assert [(m.emotion, m.duration) for m in report.positive_moments] == [("surprise", 9), ("happy", 5), ("happy", 3)]
    assert [(m.emotion, m.duration) for m in report.negative_moments] == [("sad", 4)]


def test_conversion_is_split_by_each_viewers_dominant_reaction(shop, product):
    delighted, disgusted, silent = shop.shopper(), shop.shopper(), shop.shopper()
    view = shop.view(product, delighted)
    shop.react(view, "happy", 5.0)
    shop.react(view, "disgust", 1.0, at=NOON + timedelta(seconds=30))
    shop.react(shop.view(product, disgusted), "disgust", 4.0)
    shop.view(product, silent)
    shop.act(product, delighted, Interaction.Kind.CART)
    shop.act(product, delighted, Interaction.Kind.PURCHASE)
    shop.act(product, silent, Interaction.Kind.CART)

    rows = {c.reaction: c for c in services.conversion(product, PERIOD)}

    assert rows["happy"] == services.Conversion("happy", 1, 1, 1)
    assert rows["disgust"] == services.Conversion("disgust", 1, 0, 0)
    assert rows["none"] == services.Conversion("none", 1, 1, 0)
    assert rows["all"] == services.Conversion("all", 3, 2, 1)
    assert rows["all"].cart_rate == pytest.approx(2 / 3)
    assert "neutral" not in rows


def test_overview_ranks_products_by_delight_and_dislike(shop, make_product, other_category):
    loved, hated, mixed = make_product(), make_product(), make_product(category=other_category)
    viewer = shop.shopper()
    shop.react(shop.view(loved, viewer), "happy", 10.0)
    shop.react(shop.view(hated, viewer), "disgust", 8.0)
    shop.react(shop.view(mixed, viewer, at=NOON - timedelta(days=1)), "surprise", 4.0)
    shop.react(shop.view(mixed, viewer), "angry", 5.0)

    data = services.overview(PERIOD)

    assert [p.totals.product_id for p in data.by_delight] == [loved.pk, mixed.pk]
    assert [p.totals.product_id for p in data.by_dislike] == [hated.pk, mixed.pk]
    assert data.by_dislike[1].totals.dislike == pytest.approx(4.0)  # angry weighs 0.8
    spark = data.by_delight[1].spark
    assert len(spark) == PERIOD.days and spark[-2:] == [2.0, 0.0]  # surprise weighs 0.5
    assert data.products == 3 and data.mix.seconds == pytest.approx(27.0)
    assert {c.name: c.products for c in data.categories} == {"Audio": 2, "Books": 1}


def test_filters_limit_the_overview_to_a_category_and_period(shop, make_product, other_category):
    audio, book = make_product(), make_product(category=other_category)
    shop.react(shop.view(audio, shop.shopper()), "happy", 10.0)
    shop.react(shop.view(book, shop.shopper()), "happy", 3.0)
    shop.react(shop.view(book, shop.shopper(), at=NOON - timedelta(days=20)), "happy", 7.0)

    books = services.overview(Period(PERIOD.start, PERIOD.end, category_id=other_category.pk))

    assert [p.totals.product_id for p in books.by_delight] == [book.pk]
    assert books.mix.seconds == pytest.approx(3.0)
    assert [c.name for c in books.categories] == ["Books"]


def test_empty_overview(db):
    data = services.overview(PERIOD)
    assert data.products == 0 and data.by_delight == data.by_dislike == data.categories == []
    assert data.mix.valence == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, "'from' must be a date"),
        ({"to": "yesterday"}, "'to' must be a date"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "must not be after"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "at most 366 days"),
        ({"from": "2026-01-01", "to": "2026-03-01", "granularity": "hour"}, "at most 14 days"),
        ({"granularity": "week"}, "'day' or 'hour'"),
        ({"category": "audio"}, "category id"),
    ],
)
def test_bad_periods_are_refused(params, message):
    with pytest.raises(forms.PeriodError, match=message):
        forms.parse_period(params, today=date(2026, 3, 10))


def test_default_period_is_the_last_30_days():
    period = forms.parse_period({}, today=date(2026, 3, 10))
    assert (period.start, period.end, period.days) == (date(2026, 2, 9), date(2026, 3, 10), 30)
    assert period.category_id is None
    assert forms.parse_period({"category": "4"}).query()["category"] == "4"


def test_model_info_is_unknown_without_a_model(settings, tmp_path):
    settings.EMOTION_MODEL_DIR = tmp_path / "model"
    settings.BASE_DIR = tmp_path
    info = services.model_info()
    assert (info.version, info.accuracy, info.accuracy_label) == ("unknown", None, "unknown")


def test_model_info_prefers_the_publictest_evaluation(settings, tmp_path):
    settings.EMOTION_MODEL_DIR = tmp_path
    settings.BASE_DIR = tmp_path
    card = {
        "model_version": "v3",
        "test_data": {"report_uses_tta": True},
        "test_metrics": {"plain": {"accuracy": 0.69}, "tta": {"accuracy": 0.7}},
    }
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    assert services.model_info().accuracy == 0.7
    (tmp_path / "eval_publictest.json").write_text(json.dumps({"model_version": "v3+tta", "accuracy": 0.6812}))
    info = services.model_info()
    assert (info.version, info.accuracy_label, info.source) == ("v3", "68.1%", "FER2013 PublicTest")
    (tmp_path / "eval_publictest.json").write_text("{not json")
    assert services.model_info().source == "model card test set"


def test_model_info_ignores_an_evaluation_of_another_model(settings, tmp_path):
    settings.EMOTION_MODEL_DIR = settings.BASE_DIR = tmp_path
    (tmp_path / "model_card.json").write_text(json.dumps({"model_version": "v4"}))
    (tmp_path / "eval_publictest.json").write_text(json.dumps({"model_version": "v3", "accuracy": 0.6}))
    assert (services.model_info().version, services.model_info().accuracy) == ("v4", None)


def test_model_info_never_reads_the_benchmark_results(settings, tmp_path):
    """``benchmarks/`` is not deployed: the figure shown must come from the model directory."""
    settings.EMOTION_MODEL_DIR = tmp_path / "model"
    settings.BASE_DIR = tmp_path
    settings.EMOTION_MODEL_DIR.mkdir()
    (settings.EMOTION_MODEL_DIR / "model_card.json").write_text(json.dumps({"model_version": "v5"}))
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "emotion_eval_publictest.json").write_text(json.dumps({"model_version": "v5", "accuracy": 0.66}))
    assert (services.model_info().accuracy, services.model_info().source) == (None, "no evaluation found")
