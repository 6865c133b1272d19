import pytest
from django.urls import reverse

from shop.models import Interaction, Order

pytestmark = pytest.mark.django_db

DETAILS = {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical Way"}


def add(client, product, quantity):
    client.post(reverse("shop:cart-add", args=[product.pk]), {"quantity": quantity})


def test_checkout_places_an_order(client, product, make_product):
    other = make_product(price="5.00")
    add(client, product, 2)
    add(client, other, 1)
    response = client.post("/checkout/", DETAILS)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    assert str(order.total) == "204.80"
    assert {(i.product_id, i.quantity) for i in order.items.all()} == {(product.pk, 2), (other.pk, 1)}
    product.refresh_from_db()
    assert product.stock == 8
    assert Interaction.objects.filter(kind="purchase").count() == 2
    assert client.get("/").context["cart_count"] == 0
    assert client.get(response["Location"]).status_code == 200


def test_checkout_form_errors(client, product):
    add(client, product, 1)
    response = client.post("/checkout/", {"full_name": "", "email": "not-an-email", "address": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "email", "address"}
    assert not Order.objects.exists()


def test_empty_cart_redirects(client, db):
    assert client.get("/checkout/").status_code == 302
    assert client.post("/checkout/", DETAILS).status_code == 302
    assert not Order.objects.exists()


def test_stock_running_out_places_nothing(client, product, make_product):
    scarce = make_product(stock=2)
    add(client, product, 1)
    add(client, scarce, 2)
    scarce.stock = 1
    scarce.save()
    response = client.post("/checkout/", DETAILS)
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert not Order.objects.exists()
    product.refresh_from_db()
    assert product.stock == 10  # the whole order rolled back
    assert not Interaction.objects.filter(kind="purchase").exists()


def test_orders_are_private(client, product):
    add(client, product, 1)
    location = client.post("/checkout/", DETAILS)["Location"]
    client.cookies.clear()
    assert client.get(location).status_code == 404
    assert client.get("/orders/999999/").status_code == 404
