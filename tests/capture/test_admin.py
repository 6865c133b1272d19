"""Staff see each observation's outcome and the anonymous dropped-frame counts in the admin."""

import pytest
from django.urls import reverse

from emotion import services
from emotion.models import Outcome

pytestmark = pytest.mark.django_db


def test_outcomes_and_dropped_frames_are_listed(admin_client):
    services.count_dropped(Outcome.WITHDRAWN)
    services.count_dropped(Outcome.WITHDRAWN, 2)
    page = admin_client.get(reverse("admin:emotion_droppedframes_changelist"))
    assert page.status_code == 200 and b"Withdrawn" in page.content and b">3<" in page.content
    observations = admin_client.get(
        reverse("admin:emotion_emotionobservation_changelist"), {"outcome": "several_faces"}
    )
    assert observations.status_code == 200
