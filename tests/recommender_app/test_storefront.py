"""The storefront panels and their refresh endpoint."""

import re
import uuid

import pytest

from .conftest import react

pytestmark = pytest.mark.django_db


def as_shopper(client, shopper) -> None:
    session = client.session
    session["shopper_id"] = str(shopper)
    session.save()


def test_home_shows_recommended_for_you_with_reasons(client, trained):
    as_shopper(client, trained.subject)
    html = client.get("/").content.decode()
    assert "Recommended for you" in html
    assert "Because you viewed" in html
    assert 'data-refresh-url="/api/v1/recommendations/panel/?limit=8"' in html


def test_product_page_shows_you_may_also_like(client, trained):
    html = client.get(trained.audio[3].get_absolute_url()).content.decode()
    assert "You may also like" in html
    assert f"product={trained.audio[3].pk}" in html


def test_panel_reorders_after_a_reaction(client, trained):
    as_shopper(client, trained.subject)
    url = "/api/v1/recommendations/panel/?limit=4"
    react(trained.subject, trained.books[0], happy=12.0)
    html = client.get(url).content.decode()
    assert f"Because you smiled at {trained.books[0].name}" in html


@pytest.mark.parametrize("query", ["", "limit=0", "limit=13", "limit=x", "limit=4&product=abc"])
def test_panel_rejects_bad_parameters(client, trained, query):
    assert client.get(f"/api/v1/recommendations/panel/?{query}").status_code == 400


def test_panel_for_unknown_product_is_404(client, trained):
    assert client.get("/api/v1/recommendations/panel/?limit=4&product=999999").status_code == 404


def product_ids(html: str, marker: str) -> list[str]:
    """Distinct product links, in order, inside the section that starts at ``marker``."""
    section = html.split(marker, 1)[1].split("</section>", 1)[0]
    return list(dict.fromkeys(re.findall(r'href="(/products/[a-z0-9-]+/)(?:\?[^"]*)?"', section)))


def test_new_visitors_panels_complement_each_other(client, trained):
    html = client.get("/").content.decode()
    recommended, popular = product_ids(html, "Recommended for you"), product_ids(html, "Popular right now")
    assert len(recommended) == len(popular) == 8
    assert not set(recommended) & set(popular)
    refreshed = client.get("/api/v1/recommendations/panel/?limit=8").content.decode()
    assert not set(re.findall(r'href="(/products/[^"?]+)[^"]*"', refreshed)) & set(popular)  # polling keeps it so


def test_new_visitors_list_spreads_over_categories(trained):
    from recommender.services import Owner, recommend

    ranked = trained.audio[:4] + trained.books[:4] + trained.audio[4:] + trained.books[4:]
    for rank, product in enumerate(ranked):  # the panel's rest: audio 4-7, then books 4-7
        product.popularity = 100.0 - rank
        product.save(update_fields=["popularity"])
    page = recommend(Owner(None, uuid.uuid4()), 8, complement_popular=True)
    assert [item.product.category.slug for item in page.items] == ["audio", "books"] * 4
    assert [item.product for item in page.items][::2] == trained.audio[4:]  # each category in its own order
    assert recommend(Owner(None, uuid.uuid4()), 4).items[0].product == trained.audio[0]  # the API list is unchanged
