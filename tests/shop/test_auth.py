import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from shop.models import Interaction, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery")


def test_signup_creates_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "g@example.com",
            "password1": "a long enough pass phrase",
            "password2": "a long enough pass phrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/").context["user"].username == "grace"


def test_signup_errors(client):
    response = client.post("/accounts/signup/", {"username": "", "password1": "x", "password2": "y"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not get_user_model().objects.exists()


def test_login_keeps_cart_and_anonymous_history(client, user, product):
    client.get(product.get_absolute_url())
    client.post(reverse("shop:cart-add", args=[product.pk]), {"quantity": 2})
    response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery"})
    assert response.status_code == 302
    lines = list(client.get("/cart/").context["cart"])
    assert [(line.product, line.quantity) for line in lines] == [(product, 2)]
    assert Interaction.objects.filter(user=user).count() == 2
    assert not Interaction.objects.filter(user=None).exists()


def test_logged_in_interactions_and_orders_belong_to_the_user(client, user, product):
    client.force_login(user)
    client.get(product.get_absolute_url())
    client.post(reverse("shop:cart-add", args=[product.pk]), {"quantity": 1})
    client.post("/checkout/", {"full_name": "Ada", "email": "ada@example.com", "address": "x"})
    assert Interaction.objects.filter(user=user).count() == 3
    assert Order.objects.get().user == user
    history = client.get("/orders/")
    assert list(history.context["orders"]) == [Order.objects.get()]


def test_bad_login_shows_error(client, user):
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_logout(client, user):
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_order_history_needs_login(client, db):
    response = client.get("/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
