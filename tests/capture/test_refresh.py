"""The worker rebuilds a view's reactions once per refresh period, and again when the view ends."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from emotion import services, tasks
from emotion.models import ReactionEvent
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


def test_frames_within_a_period_queue_one_rebuild(settings, queued, django_capture_on_commit_callbacks, product):
    settings.EMOTION_REACTION_REFRESH_SECONDS = 2.0
    views = [record_view(Shopper(uuid.uuid4(), None), product) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            for view in views:
                tasks.schedule_reaction_refresh(view.pk)
    assert sorted(call.args[0] for call in queued.call_args_list) == sorted([(views[0].pk,), (views[1].pk,)])
    # The rebuild runs after the claim expires, so frames stored meanwhile are covered.
    assert all(call.kwargs["countdown"] > 2.0 for call in queued.call_args_list)


def test_the_next_period_queues_the_next_rebuild(settings, queued, django_capture_on_commit_callbacks, product):
    settings.EMOTION_REACTION_REFRESH_SECONDS = 0.2
    view = record_view(Shopper(uuid.uuid4(), None), product)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.schedule_reaction_refresh(view.pk)
    cache.delete(f"emotion:reactions-due:{view.pk}")  # the period is over
    with django_capture_on_commit_callbacks(execute=True):
        tasks.schedule_reaction_refresh(view.pk)
    assert queued.call_count == 2


def test_nothing_is_queued_when_the_frame_is_rolled_back(queued, django_capture_on_commit_callbacks, product):
    view = record_view(Shopper(uuid.uuid4(), None), product)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.schedule_reaction_refresh(view.pk)
    assert queued.call_count == 0 and len(callbacks) == 1  # runs only if the transaction commits


def test_a_broker_outage_does_not_fail_the_frame(queued, django_capture_on_commit_callbacks, product):
    from kombu.exceptions import OperationalError

    queued.side_effect = OperationalError("broker down")
    view = record_view(Shopper(uuid.uuid4(), None), product)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.schedule_reaction_refresh(view.pk)  # logs, does not raise


def test_the_rebuild_task_stores_the_views_reactions(consenting_view):
    _, view = consenting_view
    now = timezone.now()
    for seq in range(4):
        services.record_observation(view, seq, now + timedelta(seconds=seq * 0.5), HAPPY, "v")
    assert not ReactionEvent.objects.exists()  # storing a frame does not rebuild
    tasks.refresh_reactions.run(view.pk)
    assert ReactionEvent.objects.get(view=view).frames == 4


def test_a_rebuild_after_withdrawal_writes_nothing(consenting_view):
    shopper, view = consenting_view
    services.record_observation(view, 0, timezone.now(), HAPPY, "v")
    services.record_observation(view, 1, timezone.now(), HAPPY, "v")
    services.withdraw_consent(shopper)
    tasks.refresh_reactions.run(view.pk)
    assert not ReactionEvent.objects.exists()


def test_a_dwell_report_rebuilds_the_views_reactions(
    consenting_view, queued, django_capture_on_commit_callbacks, product
):
    shopper, view = consenting_view
    services.record_observation(view, 0, timezone.now(), HAPPY, "v")
    with django_capture_on_commit_callbacks(execute=True):
        record_dwell(shopper, view.view_id, 3.0)
    assert queued.call_args.args[0] == (view.pk,)


def test_a_dwell_report_without_frames_queues_nothing(queued, django_capture_on_commit_callbacks, product):
    shopper = Shopper(uuid.uuid4(), None)
    view = record_view(shopper, product)
    with django_capture_on_commit_callbacks(execute=True):
        record_dwell(shopper, view.view_id, 3.0)
    assert queued.call_count == 0
