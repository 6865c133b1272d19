"""The daily summaries behind viewing time, segments and data quality: the pipeline writes them,
the reports read only them, a bulk rebuild agrees, and erasure and purges behave."""

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from emotion import services as capture
from emotion.models import EmotionObservation, ProductDailySummary, ProductViewerSketch, ReactionEvent
from insights import services
from insights.forms import Period
from shop.services import Shopper, record_view

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db
RAW_TABLES = (ReactionEvent._meta.db_table, EmotionObservation._meta.db_table)


def observed(product, labels: list[str], at, shopper: Shopper | None = None):
    """A view with one frame every half second, through the pipeline's own writers."""
    shopper = shopper or Shopper(uuid.uuid4(), None)
    capture.grant_consent(shopper)
    view = record_view(shopper, product)
    type(view).objects.filter(pk=view.pk).update(created_at=at, dwell_seconds=len(labels) / 2)
    view.refresh_from_db()
    for i, label in enumerate(labels):
        result = capture.Classification(label or None, 0.9 if label else None)
        capture.record_observation(view, i, at + timedelta(seconds=i * 0.5), result, "v1")
    capture.refresh_view_reactions(view)
    return view


def depth(product, period: Period = PERIOD) -> tuple:
    seconds = services.viewing_time(product, period)
    return (
        [(s.views, s.showing) for s in seconds],
        [(s.name, s.viewers, s.mix.seconds, s.mix.events) for s in services.segments(product, period)],
        services.quality(product, period),
    )


def test_the_depth_reports_read_no_raw_event_or_frame(shop, product):
    observed(product, ["happy"] * 6 + [""] + ["sad"] * 4, NOON)
    with CaptureQueriesContext(connection) as queries:
        depth(product)
    assert queries.captured_queries
    assert not [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in RAW_TABLES)]


def test_viewing_time_segments_and_quality_outlive_the_raw_rows(shop, product):
    observed(product, ["happy"] * 6 + [""] * 2 + ["surprise"] * 4, NOON)
    observed(product, ["", ""] + ["sad"] * 5, NOON - timedelta(days=1))
    before = depth(product)
    assert before[0][0][0] == 2 and before[2].frames == 19 and before[2].no_face == 4

    EmotionObservation.objects.all().delete()  # what the retention purge does
    ReactionEvent.objects.all().delete()

    assert depth(product) == before


def test_a_bulk_rebuild_writes_what_the_pipeline_wrote(shop, product, make_product):
    other = make_product()
    returning = Shopper(uuid.uuid4(), None)
    observed(other, ["happy"] * 4, NOON - timedelta(days=3), shopper=returning)
    observed(product, ["happy"] * 6 + [""] + ["fear"] * 3, NOON, shopper=returning)
    observed(product, ["sad"] * 8, NOON - timedelta(hours=30))
    observed(product, [""] * 3, NOON)  # frames without a face: no reaction, still counted in data quality
    pipeline = depth(product), depth(other)
    rows = sorted(ProductDailySummary.objects.values_list("product_id", "day", "seconds", "viewers", "frames"))
    sketches = sorted(ProductViewerSketch.objects.values_list("product_id", "day", "segment", "key"))

    ProductDailySummary.objects.all().delete()
    ProductViewerSketch.objects.all().delete()
    capture.rebuild_rollup()

    assert (depth(product), depth(other)) == pipeline
    assert sorted(ProductDailySummary.objects.values_list("product_id", "day", "seconds", "viewers", "frames")) == rows
    assert sorted(ProductViewerSketch.objects.values_list("product_id", "day", "segment", "key")) == sketches
    segments = {name: viewers for name, viewers, *_ in pipeline[0][1]}
    assert segments == {"new viewers": 1, "returning viewers": 1, "logged in": 0, "anonymous": 2}


def test_erasure_takes_a_person_out_of_every_summary(shop, product):
    kept = observed(product, ["happy"] * 6, NOON)
    erased = Shopper(uuid.uuid4(), None)
    observed(product, ["sad"] * 6 + [""] * 4, NOON, shopper=erased)
    observed(product, [""] * 4, NOON - timedelta(days=2), shopper=erased)  # a frames-only day

    capture.erase_emotion_data(erased)

    viewing, segments, quality = depth(product)
    assert viewing[0] == (1, {**dict.fromkeys(viewing[0][1], 0), "happy": 1})
    assert {name: viewers for name, viewers, *_ in segments} == {
        "new viewers": 1,
        "returning viewers": 0,
        "logged in": 0,
        "anonymous": 1,
    }
    assert (quality.frames, quality.views, quality.no_face) == (6, 1, 0)
    assert kept.emotion_observations.count() == 6


def test_segment_viewers_are_counted_up_to_the_sketch_size(shop, product, settings):
    settings.INSIGHTS_MIN_VIEWERS = 5
    size = ProductViewerSketch.SKETCH_SIZE
    for day in range(2):  # the same viewers on two days count once
        for n in range(size + 3):
            shop.react(shop.view(product, uuid.UUID(int=n + 1), at=NOON - timedelta(days=day)), "happy", 2.0)
    new_viewers = {s.name: s for s in services.segments(product, PERIOD)}["new viewers"]
    assert new_viewers.viewers == size and new_viewers.enough_viewers
    assert new_viewers.mix.events == 2 * (size + 3)


def test_a_view_is_charted_on_the_day_it_came_on_screen(shop, product):
    midnight = timezone.make_aware(datetime.combine(NOON.date(), time.min))
    view = observed(product, ["happy"] * 8, midnight - timedelta(seconds=2))  # reactions run past midnight
    day_before = timezone.localdate(view.created_at)
    before, after = Period(day_before, day_before), Period(NOON.date(), NOON.date())
    assert services.viewing_time(product, before)[3].showing["happy"] == 1
    assert services.viewing_time(product, after)[0].views == 0
