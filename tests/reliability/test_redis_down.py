"""With Redis down (the cache unreachable), every shop page and the recommendations API still
answer 200 from the database, and the fault is logged as a warning."""

import logging

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    """The cache points at a port where nothing listens: every cache call raises ConnectionError."""
    settings.CACHES = {
        "default": {"BACKEND": "moodshop.cache.ReusingRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }


def test_shop_pages_and_recommendations_answer_200_with_a_warning(client, redis_down, product, caplog):
    pages = [
        "/",
        "/products/",
        f"/category/{product.category.slug}/",
        product.get_absolute_url(),
        "/cart/",
        "/api/v1/recommendations/",
        "/api/v1/recommendations/panel/?limit=8",
        f"/api/v1/recommendations/panel/?limit=4&product={product.pk}",
        f"/api/v1/products/{product.pk}/similar/",
    ]
    with caplog.at_level(logging.WARNING):
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)
