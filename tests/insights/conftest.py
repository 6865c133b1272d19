"""Hand-made reaction data: views and reaction events with known durations, and the rollup they feed."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from emotion import services
from emotion.models import Consent, ReactionEvent
from insights.forms import Period
from shop.models import Interaction

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PERIOD = Period(NOON.date() - timedelta(days=6), NOON.date())


class Shop:
    """Writes what the capture pipeline would have written, with exact numbers."""

    def shopper(self, consent_at: datetime | None = NOON - timedelta(days=30)) -> uuid.UUID:
        shopper_id = uuid.uuid4()
        if consent_at is not None:
            Consent.objects.create(shopper_id=shopper_id, policy_version="1", granted_at=consent_at)
        return shopper_id

    def view(self, product, shopper_id: uuid.UUID, at: datetime = NOON, dwell: float | None = 30.0) -> Interaction:
        return Interaction.objects.create(
            kind=Interaction.Kind.VIEW,
            product=product,
            shopper_id=shopper_id,
            view_id=uuid.uuid4(),
            dwell_seconds=dwell,
            created_at=at,
        )

    def act(self, product, shopper_id: uuid.UUID, kind: str, at: datetime = NOON) -> Interaction:
        return Interaction.objects.create(kind=kind, product=product, shopper_id=shopper_id, created_at=at)

    def react(self, view: Interaction, emotion: str, seconds: float, at: datetime | None = None) -> ReactionEvent:
        """One reaction event in ``view``; the product-day rollup is refreshed as the pipeline does."""
        start = at or view.created_at
        event = ReactionEvent.objects.create(
            view=view,
            product=view.product,
            shopper_id=view.shopper_id,
            emotion=emotion,
            started_at=start,
            ended_at=start + timedelta(seconds=seconds),
            duration_seconds=seconds,
            mean_confidence=0.8,
            frames=max(2, int(seconds * 2)),
        )
        services.refresh_daily_rollup(view.product_id, timezone.localdate(start))
        return event


@pytest.fixture
def shop(db) -> Shop:
    return Shop()


@pytest.fixture(autouse=True)
def one_viewer_is_enough(settings):
    """Most tests check figures built from one or two shoppers; the small-count tests set K themselves."""
    settings.INSIGHTS_MIN_VIEWERS = 1


@pytest.fixture
def staff_viewer(django_user_model):
    """A staff member allowed to view product reactions (and nothing else)."""
    user = django_user_model.objects.create_user("analyst", password="x" * 12, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_productreaction"))
    return user
