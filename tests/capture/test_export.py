"""GET /api/v1/emotion-data/: the shopper downloads their own emotion data, every identity included."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from emotion import services
from shop.models import Interaction
from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db

HAPPY = services.Classification("happy", 0.9, {"happy": 0.9})


def test_a_shopper_downloads_their_emotion_data_as_a_json_attachment(product, django_user_model):
    browser = Shopper()
    view_id = browser.open(product)
    assert browser.consent().status_code == 201
    view = Interaction.objects.get(view_id=view_id)
    start = timezone.now() - timedelta(seconds=10)
    for seq in range(4):
        assert services.record_observation(view, seq, start + timedelta(seconds=seq * 0.5), HAPPY, "test-v1")
    services.refresh_view_reactions(view)
    stranger = Shopper()
    stranger_view = stranger.open(product)
    stranger.consent()
    services.record_observation(Interaction.objects.get(view_id=stranger_view), 0, start, HAPPY, "test-v1")

    # Captured anonymously; then an account, and a download from another browser.
    user = django_user_model.objects.create_user("ada", password="a-long-passphrase-1")
    browser.client.force_login(user)
    other = Shopper()
    other.client.force_login(user)
    response = other.client.get("/api/v1/emotion-data/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="moodshop-emotion-data.json"'
    body = json.loads(response.content)
    assert set(body) == {"consents", "observations", "reaction_events", "summaries"}
    assert len(body["consents"]) == 1 and len(body["observations"]) == 4  # not the stranger's
    assert [e["emotion"] for e in body["reaction_events"]] == ["happy"]
    assert body["summaries"][0]["product_id"] == product.pk
    assert set(body["observations"][0]) == {
        "product_id",
        "captured_at",
        "outcome",
        "label",
        "confidence",
        "probabilities",
        "model_version",
        "quality",
        "shown_region",
        "face_region",
    }  # labels, the face's quality and position only: there is no frame to give
    assert "frame_key" not in response.content.decode()


def test_an_anonymous_shopper_downloads_their_session_data(product):
    browser = Shopper()
    browser.open(product)
    browser.consent()
    body = browser.client.get("/api/v1/emotion-data/").json()
    assert len(body["consents"]) == 1 and body["observations"] == []
    assert Shopper().client.get("/api/v1/emotion-data/").json()["consents"] == []
