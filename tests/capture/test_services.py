"""Observations → reactions → affect summaries and daily aggregates; erasure and retention."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from emotion import services
from emotion.models import AffectSummary, Consent, EmotionObservation, ProductEmotionDaily, ReactionEvent
from shop.models import Interaction
from shop.services import Shopper, record_view

pytestmark = pytest.mark.django_db

HAPPY = services.Classification("happy", 0.9, {"happy": 0.9})
DISGUST = services.Classification("disgust", 0.8, {"disgust": 0.8})
NO_FACE = services.Classification(None)


@pytest.fixture
def shopper() -> Shopper:
    import uuid

    return Shopper(shopper_id=uuid.uuid4(), user=None)


@pytest.fixture
def view(shopper, product) -> Interaction:
    return record_view(shopper, product)


def consent_for(view) -> Shopper:
    owner = Shopper(view.shopper_id, view.user)
    services.grant_consent(owner)
    return owner


def observe(view, labels, start=None, period=0.5):
    consent_for(view)
    start = start or timezone.now()
    for i, result in enumerate(labels):
        services.record_observation(view, i, start + timedelta(seconds=i * period), result, "test-v1")
    services.refresh_view_reactions(view)


def test_observations_become_reactions_summary_and_rollup(view, product):
    observe(view, [HAPPY] * 4 + [NO_FACE] * 2 + [DISGUST] * 2)
    events = list(ReactionEvent.objects.order_by("started_at").values_list("emotion", "duration_seconds", "frames"))
    assert events == [("happy", 2.0, 4), ("disgust", 1.0, 2)]
    summary = AffectSummary.objects.get(product=product)
    assert summary.seconds == {"happy": 2.0, "disgust": 1.0}
    assert summary.valence == pytest.approx((2.0 - 1.0) / 3.0)
    daily = dict(ProductEmotionDaily.objects.values_list("emotion", "seconds"))
    assert daily == {"happy": 2.0, "disgust": 1.0}


def test_frames_queued_before_a_withdrawal_are_dropped(view):
    services.withdraw_consent(consent_for(view))
    assert services.record_observation(view, 0, timezone.now(), HAPPY, "v") is False
    assert not EmotionObservation.objects.exists()


def test_same_frame_is_stored_once(view):
    consent_for(view)
    now = timezone.now()
    assert services.record_observation(view, 5, now, HAPPY, "v") is True
    assert services.record_observation(view, 5, now, DISGUST, "v") is False
    assert EmotionObservation.objects.get().label == "happy"


def test_no_face_frames_are_gaps_not_errors(view):
    observe(view, [NO_FACE] * 3)
    assert EmotionObservation.objects.filter(label="").count() == 3
    assert not ReactionEvent.objects.exists()
    assert not AffectSummary.objects.exists()
    status = services.view_status(view)
    assert (status.frames, status.faces, status.last_label) == (3, 0, None)


def test_view_status_reports_the_last_label(view):
    observe(view, [HAPPY, HAPPY, DISGUST])
    status = services.view_status(view)
    assert (status.frames, status.faces, status.last_label) == (3, 3, "disgust")
    assert status.seconds == {"happy": 1.0}


def test_view_end_closes_reactions(view):
    observe(view, [HAPPY] * 4, start=view.created_at)
    view.dwell_seconds = 1.2
    view.save()
    services.refresh_view_reactions(view)
    assert ReactionEvent.objects.get().duration_seconds == pytest.approx(1.2)


def test_consent_lifecycle(shopper, settings):
    assert services.active_consent(shopper) is None
    consent = services.grant_consent(shopper)
    assert services.grant_consent(shopper) == consent  # idempotent
    assert consent.policy_version == settings.EMOTION_CONSENT_POLICY_VERSION
    settings.EMOTION_CONSENT_POLICY_VERSION = "2"
    assert services.active_consent(shopper) is None  # a new policy needs new consent


def test_withdraw_erases_personal_data_but_keeps_other_shoppers(shopper, view, product):
    other = Shopper(uuid.uuid4(), None)
    other_view = record_view(other, product)
    services.grant_consent(shopper)
    observe(view, [HAPPY] * 4)
    observe(other_view, [DISGUST] * 4)
    erased = services.withdraw_consent(shopper)
    assert (erased.observations, erased.reactions, erased.summaries, erased.consents) == (4, 1, 1, 1)
    assert not Consent.objects.filter(shopper_id=shopper.shopper_id).exists()
    assert set(EmotionObservation.objects.values_list("shopper_id", flat=True)) == {other.shopper_id}
    assert set(ReactionEvent.objects.values_list("emotion", flat=True)) == {"disgust"}
    # the anonymous aggregate no longer counts the erased reactions
    assert dict(ProductEmotionDaily.objects.values_list("emotion", "seconds")) == {"disgust": 2.0}


def test_erase_covers_the_account_across_sessions(product, django_user_model):
    user = django_user_model.objects.create_user("ada", password="x" * 12)
    laptop, phone = Shopper(uuid.uuid4(), user), Shopper(uuid.uuid4(), user)
    observe(record_view(laptop, product), [HAPPY] * 2)
    observe(record_view(phone, product), [HAPPY] * 2)
    services.erase_emotion_data(laptop)
    assert not EmotionObservation.objects.exists()


def test_retention_purges_raw_data_but_keeps_aggregates(view, product, settings):
    old = timezone.now() - timedelta(days=settings.EMOTION_RETENTION_DAYS + 1)
    observe(view, [HAPPY] * 4, start=old)
    recent_view = record_view(Shopper(view.shopper_id, None), product)
    observe(recent_view, [HAPPY] * 2)
    assert services.purge_expired() == (4, 1)
    assert EmotionObservation.objects.count() == 2
    assert ProductEmotionDaily.objects.filter(day=timezone.localdate(old)).exists()
