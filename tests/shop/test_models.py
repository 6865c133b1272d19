from decimal import Decimal

import pytest
from django.db import IntegrityError

from shop.models import Interaction, Order, OrderItem, Product

pytestmark = pytest.mark.django_db


def test_product_urls_and_stock(product, category):
    assert product.get_absolute_url() == "/products/aurora-headphones/"
    assert category.get_absolute_url() == "/category/audio/"
    assert str(product) == "Aurora Headphones"
    assert product.in_stock
    product.stock = 0
    assert not product.in_stock


def test_available_excludes_inactive(make_product):
    active = make_product()
    make_product(is_active=False)
    assert list(Product.objects.available()) == [active]


def test_slug_is_unique(make_product):
    make_product(slug="same")
    with pytest.raises(IntegrityError):
        make_product(slug="same")


def test_order_item_line_total(product):
    order = Order.objects.create(
        shopper_id="00000000-0000-0000-0000-000000000001",
        full_name="A",
        email="a@example.com",
        address="x",
        total=Decimal("199.80"),
    )
    item = OrderItem.objects.create(order=order, product=product, quantity=2, unit_price=product.price)
    assert item.line_total == Decimal("199.80")
    assert str(order) == f"Order #{order.pk}"


def test_view_ids_are_unique(product):
    view_id = "00000000-0000-0000-0000-00000000000a"
    shopper = "00000000-0000-0000-0000-000000000001"
    Interaction.objects.create(kind="view", product=product, shopper_id=shopper, view_id=view_id)
    with pytest.raises(IntegrityError):
        Interaction.objects.create(kind="view", product=product, shopper_id=shopper, view_id=view_id)
