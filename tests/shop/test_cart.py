import pytest
from django.urls import reverse

from shop.models import Interaction

pytestmark = pytest.mark.django_db


def add(client, product, quantity):
    return client.post(reverse("shop:cart-add", args=[product.pk]), {"quantity": quantity})


def cart_lines(client):
    return {line.product.name: line.quantity for line in client.get("/cart/").context["cart"]}


def test_add_update_remove(client, product):
    assert add(client, product, 2).status_code == 302
    assert cart_lines(client) == {"Aurora Headphones": 2}
    add(client, product, 1)
    assert cart_lines(client) == {"Aurora Headphones": 3}
    client.post(reverse("shop:cart-update", args=[product.pk]), {"quantity": 1})
    assert cart_lines(client) == {"Aurora Headphones": 1}
    client.post(reverse("shop:cart-remove", args=[product.pk]))
    assert cart_lines(client) == {}


def test_add_to_cart_is_logged(client, product):
    add(client, product, 2)
    event = Interaction.objects.get(kind="cart")
    assert (event.product, event.quantity) == (product, 2)


def test_update_to_zero_removes_the_line(client, product):
    add(client, product, 2)
    client.post(reverse("shop:cart-update", args=[product.pk]), {"quantity": 0})
    assert cart_lines(client) == {}


def test_badge_counts_items(client, make_product):
    add(client, make_product(), 2)
    add(client, make_product(), 1)
    response = client.get("/")
    assert response.context["cart_count"] == 3
    assert b'id="cart-badge">3<' in response.content


@pytest.mark.parametrize("quantity", ["-1", "0", "21", "1000000", "99999999999999999999", "abc", "", "1.5"])
def test_bad_add_quantities_are_form_errors(client, product, quantity):
    response = add(client, product, quantity)
    assert response.status_code == 400
    assert response.context["form"].errors["quantity"]
    assert cart_lines(client) == {}


@pytest.mark.parametrize("quantity", ["-5", "21", "abc"])
def test_bad_update_quantities_are_form_errors(client, product, quantity):
    add(client, product, 2)
    response = client.post(reverse("shop:cart-update", args=[product.pk]), {"quantity": quantity})
    assert response.status_code == 400
    assert b"invalid-feedback" in response.content
    assert cart_lines(client) == {"Aurora Headphones": 2}


def test_quantity_is_capped_by_stock(client, make_product):
    scarce = make_product(stock=3)
    add(client, scarce, 5)
    assert cart_lines(client) == {scarce.name: 3}


def test_sold_out_cannot_be_added(client, make_product):
    sold_out = make_product(stock=0)
    response = add(client, sold_out, 1)
    assert response.status_code == 302
    assert cart_lines(client) == {}


def test_unknown_product_is_404(client, db):
    assert client.post(reverse("shop:cart-add", args=[424242]), {"quantity": 1}).status_code == 404
    assert client.post(reverse("shop:cart-update", args=[424242]), {"quantity": 1}).status_code == 404


def test_get_is_not_allowed_on_cart_actions(client, product):
    assert client.get(reverse("shop:cart-add", args=[product.pk])).status_code == 405


@pytest.mark.parametrize(
    "tampered",
    [
        "not a dict",
        ["a", "list"],
        {"abc": 1, "-4": 2, "0": 1},
        {"1": -3, "2": "many", "3": 10**12, "4": True, "5": None},
        {"999999": 1},
        None,
    ],
)
def test_tampered_session_cart_never_500s(client, product, tampered):
    session = client.session
    session["cart"] = tampered
    session["shopper_id"] = "not-a-uuid"
    session.save()
    for url in ("/", "/cart/", "/checkout/", product.get_absolute_url()):
        assert client.get(url).status_code in (200, 302)
    assert cart_lines(client) == {}
    assert add(client, product, 1).status_code == 302
    assert cart_lines(client) == {"Aurora Headphones": 1}


def test_garbage_session_cookie_is_a_fresh_session(client, product):
    client.cookies["sessionid"] = "garbage'\"<>"
    assert client.get("/cart/").status_code == 200
    assert add(client, product, 1).status_code == 302


def test_deleted_product_leaves_the_cart(client, make_product):
    gone = make_product()
    add(client, gone, 1)
    gone.delete()
    assert cart_lines(client) == {}
    assert client.get("/").context["cart_count"] == 0
