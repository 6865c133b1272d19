"""The recommendations API: contract, pagination, permissions and every error case."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from recommender.services import Owner, recommend

from .conftest import log

pytestmark = pytest.mark.django_db

FIELDS = {"id", "name", "price", "url", "score", "cf_score", "affect_score", "reason"}


def as_shopper(client, shopper) -> None:
    session = client.session
    session["shopper_id"] = str(shopper)
    session.save()


def test_my_recommendations_contract(client, trained):
    as_shopper(client, trained.subject)
    body = client.get("/api/v1/recommendations/?limit=3").json()
    assert set(body) == {"list_id", "count", "next", "previous", "results"}
    assert body["previous"] is None and "offset=3" in body["next"] and body["count"] == 12  # 16 products, 4 seen
    items = body["results"]
    assert len(items) == 3 and all(set(item) == FIELDS for item in items)
    seen = {p.pk for p in (trained.audio[0], trained.audio[1], trained.books[0], trained.books[1])}
    assert not seen & {item["id"] for item in items}
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    for item in items:
        assert item["score"] == pytest.approx(item["cf_score"] + item["affect_score"], abs=1e-3)
        assert item["url"].startswith("http://testserver/products/")
        assert item["reason"].startswith("because you viewed ")


def test_pages_follow_each_other(client, trained):
    as_shopper(client, trained.subject)
    whole = [item["id"] for item in client.get("/api/v1/recommendations/?limit=6").json()["results"]]
    second = client.get("/api/v1/recommendations/?limit=3&offset=3").json()
    assert [item["id"] for item in second["results"]] == whole[3:]
    assert "offset=0" in second["previous"] or second["previous"].endswith("limit=3")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=-1", "limit=101", "limit=abc", "limit=1.5", "limit=1e3", "offset=-1", "offset=x"]
)
def test_bad_parameters_are_400_with_a_reason(client, trained, query):
    response = client.get(f"/api/v1/recommendations/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter" and body["error"].startswith("Invalid ")


def test_similar_contract_and_errors(client, trained):
    product = trained.audio[2]
    body = client.get(f"/api/v1/products/{product.pk}/similar/?limit=4").json()
    assert len(body["results"]) == 4 and all(set(item) == FIELDS for item in body["results"])
    assert product.pk not in {item["id"] for item in body["results"]}
    assert client.get(f"/api/v1/products/{product.pk}/similar/?limit=500").status_code == 400
    for raw, status in [("abc", 400), ("-3", 400), ("0", 400), ("99999999999999999999", 400), ("999999", 404)]:
        response = client.get(f"/api/v1/products/{raw}/similar/")
        assert response.status_code == status, raw
        assert response.json()["error"]
    product.is_active = False
    product.save()
    assert client.get(f"/api/v1/products/{product.pk}/similar/").json()["code"] == "unknown_product"


def test_user_recommendations_are_for_staff_only(client, trained):
    User = get_user_model()
    shopper = User.objects.create_user("shopper", password="pw-12345-long")
    for product in trained.books[:3]:
        log(trained.subject, product, user=shopper)
    url = f"/api/v1/users/{shopper.pk}/recommendations/?limit=5"
    anonymous = client.get(url)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    client.force_login(shopper)
    assert client.get(url).status_code == 403
    client.force_login(User.objects.create_user("staff", password="pw-12345-long", is_staff=True))
    body = client.get(url).json()
    expected = recommend(Owner(shopper.pk), 5)
    assert [item["id"] for item in body["results"]] == [r.product.pk for r in expected.items]
    assert client.get("/api/v1/users/999999/recommendations/").json()["code"] == "unknown_user"
    assert client.get("/api/v1/users/999999/recommendations/").status_code == 404
    assert client.get("/api/v1/users/me/recommendations/").status_code == 400
    assert client.get(f"/api/v1/users/{shopper.pk}/recommendations/?limit=0").status_code == 400


def test_endpoints_are_in_the_openapi_schema(client, db):
    schema = client.get("/api/v1/schema/").content.decode()
    for path in (
        "/api/v1/recommendations/:",
        "/api/v1/users/{user_id}/recommendations/:",
        "/api/v1/products/{product_id}/similar/:",
    ):
        assert path in schema
    assert "affect_score" in schema and "RecommendationList" in schema


def test_staff_api_clients_can_use_a_token(client, trained, django_user_model):
    shopper = django_user_model.objects.create_user("reader", password="pw-12345-long")
    url = f"/api/v1/users/{shopper.pk}/recommendations/"
    staff = Token.objects.create(user=django_user_model.objects.create_user("api", is_staff=True))
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {staff.key}").status_code == 200
    other = Token.objects.create(user=shopper)
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {other.key}").status_code == 403
    assert client.get(url, HTTP_AUTHORIZATION="Token nonsense").status_code == 401


PERSONAL = {"score", "affect_score", "reason"}


def test_staff_see_a_persons_emotion_derived_figures_only_with_the_explicit_permission(client, trained):
    from django.contrib.auth.models import Permission

    from .conftest import react

    User = get_user_model()
    shopper = User.objects.create_user("shopper", password="pw-12345-long")
    for product in trained.books[:3]:
        log(trained.subject, product, user=shopper)
    react(trained.subject, trained.books[0], user=shopper, happy=12.0)
    url = f"/api/v1/users/{shopper.pk}/recommendations/?limit=5"
    staff = User.objects.create_user("staff", password="pw-12345-long", is_staff=True)
    client.force_login(staff)
    plain = client.get(url).json()["results"]
    assert plain and all(set(item) == FIELDS - PERSONAL for item in plain)
    assert "smiled" not in str(plain)
    staff.user_permissions.add(Permission.objects.get(codename="view_personal_affect"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached per user object
    client.force_login(staff)
    personal = client.get(url).json()["results"]
    assert all(set(item) == FIELDS for item in personal)
    assert any("smiled" in item["reason"] for item in personal)
    assert [item["id"] for item in personal] == [item["id"] for item in plain]


def test_my_recommendations_honour_a_shopper_token_and_refuse_a_bad_one(client, trained, django_user_model):
    shopper = django_user_model.objects.create_user("reader", password="pw-12345-long")
    seen = trained.audio[0]  # the most popular product: first in an anonymous list
    log(trained.subject, seen, user=shopper)
    token = Token.objects.create(user=shopper)
    anonymous = client.get("/api/v1/recommendations/?limit=5").json()["results"]
    assert seen.pk in {item["id"] for item in anonymous}
    own = client.get("/api/v1/recommendations/?limit=5", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert own.status_code == 200
    assert seen.pk not in {item["id"] for item in own.json()["results"]}  # the account's own list
    bad = client.get("/api/v1/recommendations/", HTTP_AUTHORIZATION="Token nonsense")
    assert bad.status_code == 401 and bad.json()["error"]


def test_a_staff_token_reads_the_reactions_api(client, trained, django_user_model):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("analyst", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_productreaction"))
    token = Token.objects.create(user=staff)
    url = f"/api/v1/products/{trained.audio[0].pk}/reactions/"
    assert client.get(url).status_code in (401, 403)
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content
