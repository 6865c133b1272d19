"""The storefront panels and their refresh endpoint."""

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
