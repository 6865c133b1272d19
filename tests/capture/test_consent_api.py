import pytest

from emotion.models import Consent
from shop.models import Interaction
from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db


def test_consent_starts_off_and_can_be_given_and_withdrawn(shopper, product):
    shopper.open(product)
    status = shopper.client.get("/api/v1/consent/").json()
    assert status["consented"] is False and status["capture_fps"] == 2
    given = shopper.consent()
    assert given.status_code == 201 and given.json()["consented"] is True
    assert shopper.client.get("/api/v1/consent/").json()["consented"] is True
    withdrawn = shopper.withdraw()
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consented"] is False
    assert withdrawn.json()["erased"] == {"observations": 0, "reactions": 0, "summaries": 0, "consents": 1}
    assert not Consent.objects.exists()  # the row, and the key its frames were sealed with, are gone


def test_consent_is_per_shopper(shopper, product):
    shopper.open(product)
    shopper.consent()
    stranger = Shopper()
    stranger.open(product)
    assert stranger.client.get("/api/v1/consent/").json()["consented"] is False


def test_erase_my_data_needs_login(shopper, product, django_user_model):
    shopper.open(product)
    assert shopper.client.delete("/api/v1/emotion-data/", HTTP_X_CSRFTOKEN=shopper.csrf).status_code == 401
    user = django_user_model.objects.create_user("ada", password="x" * 12)
    shopper.client.force_login(user)
    shopper.open(product)
    response = shopper.client.delete("/api/v1/emotion-data/", HTTP_X_CSRFTOKEN=shopper.csrf)
    assert response.status_code == 200
    assert response.json() == {"observations": 0, "reactions": 0, "summaries": 0, "consents": 0}


def test_view_status_is_private(shopper, product):
    view_id = shopper.open(product)
    assert shopper.client.get(f"/api/v1/views/{view_id}/status/").json()["frames"] == 0
    stranger = Shopper()
    response = stranger.client.get(f"/api/v1/views/{view_id}/status/")
    assert response.status_code == 404 and response.json()["code"] == "unknown_view"


def test_pages_offer_consent_without_touching_the_camera(client, product):
    page = client.get(product.get_absolute_url()).content.decode()
    assert 'id="consent-dialog"' in page and "never stored" in page
    assert "js/emotion.js" in page


def test_only_opening_the_product_page_logs_a_view(shopper, product):
    """A view means the product page was opened: nothing logs a view of a card seen in a list."""
    shopper.client.get("/products/")
    shopper.consent()
    shopper.client.get("/")
    shopper.client.get("/products/")
    refused = shopper.client.post(
        "/api/v1/views/", {"product": product.pk}, content_type="application/json", HTTP_X_CSRFTOKEN=shopper.csrf
    )
    assert refused.status_code in (404, 405)
    assert not Interaction.objects.filter(kind="view").exists()
    view_id = shopper.open(product)
    assert [str(v) for v in Interaction.objects.filter(kind="view").values_list("view_id", flat=True)] == [view_id]
