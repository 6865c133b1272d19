"""Who may read and change what: staff-only data, other shoppers' data, CSRF everywhere."""

import pytest
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db

UNSAFE = {"post", "put", "patch", "delete"}


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema, path parameters filled in."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    filled = []
    for path, item in schema["paths"].items():
        concrete = path.replace("{view_id}", "6f1c0c6e-5d1b-4f55-9a0e-3f1b6c1f0a11")
        for name in ("id", "user_id", "product_id"):
            concrete = concrete.replace("{" + name + "}", "1")
        filled += [(method, concrete) for method in item if method in UNSAFE | {"get"}]
    return filled


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("shopper", password="x" * 12)


def test_every_state_changing_endpoint_enforces_csrf(user, product):
    unsafe = [(m, p) for m, p in api_operations() if m in UNSAFE]
    assert unsafe, "the schema lists no state-changing operation"
    for logged_in in (False, True):
        client = Client(enforce_csrf_checks=True)
        if logged_in:
            client.force_login(user)
        client.get(product.get_absolute_url())  # a real session with a csrftoken cookie
        for method, path in unsafe:
            response = getattr(client, method)(path, data=b"", content_type="application/json")
            assert response.status_code == 403, f"{method.upper()} {path} without CSRF -> {response.status_code}"


def test_staff_only_endpoints_refuse_shoppers(user, product):
    staff_paths = [p for m, p in api_operations() if m == "get" and ("/reactions/" in p or "/users/" in p)]
    assert staff_paths
    anonymous, shopper = Client(), Client()
    shopper.force_login(user)
    for path in staff_paths:
        path = path.replace("/products/1/", f"/products/{product.pk}/").replace("/users/1/", f"/users/{user.pk}/")
        for client in (anonymous, shopper):
            response = client.get(path)
            assert response.status_code in (401, 403), f"{path} -> {response.status_code}"
            assert "error" in response.json()


def test_admin_analytics_is_staff_only(user, product):
    overview = reverse("admin:insights_productreaction_changelist")
    assert Client().get(overview).status_code == 302  # to the admin login
    shopper = Client()
    shopper.force_login(user)
    assert shopper.get(overview).status_code == 302


def test_a_shopper_cannot_read_or_feed_another_shoppers_view(product, face_jpeg):
    owner, intruder = Shopper(), Shopper()
    view_id = owner.open(product)
    intruder.open(product)
    intruder.consent()
    assert intruder.client.get(f"/api/v1/views/{view_id}/status/").status_code == 404
    assert intruder.post_frame(product, view_id, face_jpeg).status_code == 404
