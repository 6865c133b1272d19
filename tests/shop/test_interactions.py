import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop.models import Interaction
from shop.services import refresh_popularity

pytestmark = pytest.mark.django_db


def open_product(client, product) -> uuid.UUID:
    return client.get(product.get_absolute_url()).context["view_id"]


def report(client, view_id, seconds):
    return client.post(reverse("shop:dwell", args=[view_id]), {"seconds": seconds})


def test_dwell_is_recorded_and_only_grows(client, product):
    view_id = open_product(client, product)
    assert report(client, view_id, "12.5").json() == {"status": "ok"}
    report(client, view_id, "3")  # a late, shorter report (e.g. visibility change) must not shrink it
    assert Interaction.objects.get(view_id=view_id).dwell_seconds == 12.5
    report(client, view_id, "40")
    assert Interaction.objects.get(view_id=view_id).dwell_seconds == 40


@pytest.mark.parametrize("seconds", ["-1", "abc", "", "1e309", "nan", "99999999"])
def test_bad_dwell_is_400_with_reason(client, product, seconds):
    view_id = open_product(client, product)
    response = report(client, view_id, seconds)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid dwell report"
    assert Interaction.objects.get(view_id=view_id).dwell_seconds is None


def test_cannot_report_on_someone_elses_view(client, product):
    view_id = open_product(client, product)
    stranger = Client()
    response = report(stranger, view_id, "10")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown view"
    assert report(client, uuid.uuid4(), "10").status_code == 404


def test_dwell_needs_csrf(product):
    client = Client(enforce_csrf_checks=True)
    view_id = open_product(client, product)
    assert report(client, view_id, "5").status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("shop:dwell", args=[view_id]), {"seconds": "5", "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_bad_view_id_in_url_is_404(client, db):
    assert client.post("/views/not-a-uuid/dwell/", {"seconds": 1}).status_code == 404


def test_anonymous_views_share_one_shopper_id(client, make_product):
    open_product(client, make_product())
    open_product(client, make_product())
    assert Interaction.objects.values("shopper_id").distinct().count() == 1


def test_popularity_weights_views_carts_and_purchases(make_product):
    viewed, carted, bought, idle = (make_product() for _ in range(4))
    shopper = uuid.uuid4()
    for product, kind in ((viewed, "view"), (carted, "cart"), (bought, "purchase")):
        Interaction.objects.create(kind=kind, product=product, shopper_id=shopper, dwell_seconds=4.0)
    assert refresh_popularity() == 3
    for product in (viewed, carted, bought, idle):
        product.refresh_from_db()
    assert (viewed.popularity, carted.popularity, bought.popularity, idle.popularity) == (1, 3, 5, 0)


def test_popularity_counts_each_shopper_once_per_product(make_product):
    reloaded, liked = make_product(), make_product()
    one = uuid.uuid4()
    for _ in range(50):
        Interaction.objects.create(kind="view", product=reloaded, shopper_id=one, dwell_seconds=2.0)
    for _ in range(2):
        Interaction.objects.create(kind="view", product=liked, shopper_id=uuid.uuid4(), dwell_seconds=2.0)
    refresh_popularity()
    reloaded.refresh_from_db(), liked.refresh_from_db()
    assert (reloaded.popularity, liked.popularity) == (1, 2)


def test_cookie_less_page_fetches_do_not_make_a_product_popular(client, make_product):
    """400 GETs without cookies: 400 new shoppers, none of whose pages ever reported a dwell time."""
    scraped, liked = make_product(), make_product()
    for _ in range(400):
        client.cookies.clear()
        assert client.get(scraped.get_absolute_url()).status_code == 200
    for _ in range(3):
        client.cookies.clear()
        view_id = open_product(client, liked)
        assert client.post(f"/views/{view_id}/dwell/", {"seconds": 5}).status_code == 200
    refresh_popularity()
    scraped.refresh_from_db(), liked.refresh_from_db()
    assert (scraped.popularity, liked.popularity) == (0, 3)


def test_beat_clears_expired_sessions(client, make_product, settings):
    from django.contrib.sessions.models import Session

    from shop.tasks import clear_expired_sessions

    assert settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]["task"] == "shop.tasks.clear_expired_sessions"
    product = make_product()
    for _ in range(5):
        client.cookies.clear()
        client.get(product.get_absolute_url())
    assert Session.objects.count() == 5
    Session.objects.filter(pk__in=list(Session.objects.values_list("pk", flat=True)[:3])).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert clear_expired_sessions() == 3
    assert Session.objects.count() == 2
