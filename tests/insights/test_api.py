"""GET /api/v1/products/{id}/reactions/: staff only, JSON errors, documented in the schema."""

import pytest
from django.urls import reverse

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db


def url(product_id: int) -> str:
    return reverse("insights:product-reactions", args=[product_id])


def test_staff_get_the_products_figures(client, staff_viewer, shop, product):
    viewer = shop.shopper()
    shop.react(shop.view(product, viewer), "happy", 6.0)
    shop.react(shop.view(product, viewer), "sad", 2.0)
    client.force_login(staff_viewer)

    response = client.get(url(product.pk), {"from": PERIOD.start, "to": PERIOD.end})

    assert response.status_code == 200
    body = response.json()
    assert body["product"]["id"] == product.pk and body["period"]["to"] == NOON.date().isoformat()
    assert body["views"] == 2 and body["viewers"] == body["consenting_viewers"] == 1
    assert body["seconds"] == 8.0 and body["emotions"]["happy"]["share"] == 0.75
    assert body["valence"] == pytest.approx((6.0 - 1.0) / 8.0)
    assert len(body["timeline"]) == PERIOD.days
    assert body["top_moments"]["negative"][0]["emotion"] == "sad"
    assert body["conversion"][-1]["reaction"] == "all"
    assert set(body["model"]) == {"version", "accuracy", "accuracy_source"}


@pytest.mark.parametrize("who", ["anonymous", "shopper", "staff without permission"])
def test_others_are_refused(client, django_user_model, product, who):
    if who != "anonymous":
        client.force_login(
            django_user_model.objects.create_user("u", password="x" * 12, is_staff=who.startswith("staff"))
        )
    response = client.get(url(product.pk))
    # No credentials: 401 and how to authenticate (a token); credentials without the permission: 403.
    assert response.status_code == (401 if who == "anonymous" else 403)
    assert response.json()["code"] in {"not_authenticated", "permission_denied"}


def test_bad_dates_are_400_with_a_reason(admin_client, product):
    response = admin_client.get(url(product.pk), {"from": "2026-03-10", "to": "2026-03-01"})
    assert response.status_code == 400
    assert response.json() == {"error": "'from' must not be after 'to'.", "code": "invalid_period"}


def test_unknown_product_is_404_with_a_reason(admin_client, db):
    response = admin_client.get(url(424242))
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown product 424242.", "code": "unknown_product"}


def test_the_endpoint_is_in_the_openapi_schema(client):
    response = client.get(reverse("schema"), {"format": "json"})
    schema = response.json()
    operation = schema["paths"]["/api/v1/products/{product_id}/reactions/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"product_id", "from", "to", "granularity"}
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
