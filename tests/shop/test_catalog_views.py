from decimal import Decimal

import pytest
from django.urls import reverse

from shop.models import Interaction

pytestmark = pytest.mark.django_db


def test_home_shows_popular_products(client, make_product):
    hit = make_product(name="Hit Speaker", popularity=50)
    make_product(name="Quiet Speaker", popularity=1)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["popular"][0] == hit
    assert b"Hit Speaker" in response.content


def test_list_filters_by_category(client, make_product, other_category):
    make_product(name="Speaker")
    make_product(name="Novel", category=other_category)
    response = client.get(reverse("shop:category", args=["books"]))
    names = [p.name for p in response.context["page"]]
    assert names == ["Novel"]


def test_unknown_category_is_404(client, db):
    assert client.get("/category/nope/").status_code == 404


def test_search_matches_name_description_and_category(client, make_product, other_category):
    make_product(name="Bamboo Mug", description="Holds tea.")
    make_product(name="Atlas", description="Maps of the world", category=other_category)
    make_product(name="Kite")

    def names(q: str) -> list[str]:
        return sorted(p.name for p in client.get("/products/", {"q": q}).context["page"])

    assert names("mug") == ["Bamboo Mug"]
    assert names("world") == ["Atlas"]
    assert names("books") == ["Atlas"]
    assert names("bamboo tea") == ["Bamboo Mug"]
    assert names("zzz") == []


def test_sorting_by_price(client, make_product):
    make_product(name="B", price=Decimal("5"))
    make_product(name="A", price=Decimal("50"))
    page = client.get("/products/", {"sort": "-price"}).context["page"]
    assert [p.name for p in page] == ["A", "B"]


def test_bad_query_parameters_do_not_fail(client, make_product):
    make_product()
    for params in ({"page": "abc"}, {"page": "99999"}, {"sort": "evil"}, {"q": "x" * 500}):
        response = client.get("/products/", params)
        assert response.status_code == 200


def test_pagination(client, make_product, settings):
    settings.SHOP_PAGE_SIZE = 2
    for _ in range(5):
        make_product()
    response = client.get("/products/", {"page": 3})
    assert response.context["page"].number == 3
    assert len(response.context["page"]) == 1


def test_product_detail_records_a_view(client, product):
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    view = Interaction.objects.get(kind="view", product=product)
    assert response.context["view_id"] == view.view_id
    assert str(view.view_id).encode() in response.content
    assert view.user is None and view.shopper_id is not None
    assert "csrftoken" in response.cookies


def test_unknown_or_inactive_product_is_404(client, make_product):
    hidden = make_product(is_active=False)
    assert client.get("/products/no-such-thing/").status_code == 404
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert b"couldn't find" in client.get("/products/no-such-thing/").content
