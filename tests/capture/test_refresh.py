"""A view's reactions are rebuilt once per refresh period while frames arrive, when the view
ends (dwell report), and by the sweep when a page never reports."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from emotion import services, tasks
from emotion.models import EmotionObservation, ReactionEvent
from shop.services import Shopper, record_dwell, record_view

pytestmark = pytest.mark.django_db

HAPPY = services.Classification("happy", 0.9, {"happy": 0.9})


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queued():
    with mock.patch.object(tasks.refresh_reactions, "apply_async") as apply_async:
        yield apply_async


@pytest.fixture
def consenting_view(product):
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    return shopper, record_view(shopper, product)


def observe(view, n: int, start=None) -> None:
    start = start or timezone.now()
    for seq in range(n):
        services.record_observation(view, seq, start + timedelta(seconds=seq * 0.5), HAPPY, "v")


def test_one_frame_per_period_rebuilds(settings):
    settings.EMOTION_REACTION_REFRESH_SECONDS = 2.0
    assert [tasks.claim_reaction_refresh(7) for _ in range(5)] == [True, False, False, False, False]
    assert tasks.claim_reaction_refresh(8), "views are debounced separately"
    cache.delete("emotion:reactions-fresh:7")  # the period is over
    assert tasks.claim_reaction_refresh(7)


def test_every_frame_rebuilds_when_the_period_is_zero_or_the_cache_is_down(settings):
    settings.EMOTION_REACTION_REFRESH_SECONDS = 0
    assert all(tasks.claim_reaction_refresh(7) for _ in range(3))
    settings.EMOTION_REACTION_REFRESH_SECONDS = 2.0
    with mock.patch.object(cache, "add", side_effect=RedisConnectionError("down")):
        assert tasks.claim_reaction_refresh(7) and tasks.claim_reaction_refresh(7)


def test_storing_a_frame_does_not_rebuild_and_the_task_does(consenting_view):
    _, view = consenting_view
    observe(view, 4)
    assert not ReactionEvent.objects.exists()
    tasks.refresh_reactions.run(view.pk)
    assert ReactionEvent.objects.get(view=view).frames == 4


def test_a_rebuild_after_withdrawal_writes_nothing(consenting_view):
    shopper, view = consenting_view
    observe(view, 3)
    services.withdraw_consent(shopper)
    tasks.refresh_reactions.run(view.pk)
    assert not ReactionEvent.objects.exists()


def test_a_dwell_report_queues_a_rebuild_once_committed(consenting_view, queued, django_capture_on_commit_callbacks):
    shopper, view = consenting_view
    observe(view, 1)
    with django_capture_on_commit_callbacks(execute=True):
        record_dwell(shopper, view.view_id, 3.0)
        assert queued.call_count == 0  # not before the dwell time is committed
    assert queued.call_args.args[0] == (view.pk,)


def test_a_dwell_report_without_frames_queues_nothing(queued, django_capture_on_commit_callbacks, product):
    shopper = Shopper(uuid.uuid4(), None)
    view = record_view(shopper, product)
    with django_capture_on_commit_callbacks(execute=True):
        record_dwell(shopper, view.view_id, 3.0)
    assert queued.call_count == 0


def test_a_broker_outage_only_logs(consenting_view, queued, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    shopper, view = consenting_view
    observe(view, 1)
    queued.side_effect = OperationalError("broker down")
    with django_capture_on_commit_callbacks(execute=True):
        record_dwell(shopper, view.view_id, 3.0)  # does not raise
    assert view.__class__.objects.get(pk=view.pk).dwell_seconds == 3.0


def test_the_sweep_rebuilds_views_that_went_quiet(settings, product):
    settings.EMOTION_REACTION_REFRESH_SECONDS = 2.0
    views = []
    for _ in range(3):
        shopper = Shopper(uuid.uuid4(), None)
        services.grant_consent(shopper)
        views.append(record_view(shopper, product))
    quiet, _still_sending, old = views
    for view in views:
        observe(view, 4)
    now = timezone.now()
    EmotionObservation.objects.filter(view=quiet).update(created_at=now - timedelta(seconds=30))
    EmotionObservation.objects.filter(view=old).update(created_at=now - timedelta(hours=1))

    assert tasks.refresh_quiet_views.run() == 1
    assert set(ReactionEvent.objects.values_list("view", flat=True)) == {quiet.pk}
