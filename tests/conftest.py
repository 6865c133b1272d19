"""Shared fixtures: a small catalog, media in a temporary folder, a camera frame of a real face."""

import contextlib
import io
import os
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image
from skimage import data

from shop.models import Category, Product


def pytest_collection_modifyitems(config, items) -> None:
    """Browser tests are skipped only on explicit request, and pytest's summary says so."""
    if os.environ.get("MOODSHOP_SKIP_BROWSER_TESTS") == "1":
        skip = pytest.mark.skip(reason="browser tests skipped on request (MOODSHOP_SKIP_BROWSER_TESTS=1)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _frame_receipts():
    """No receipt or drop marker (emotion.receipts) of an earlier test: a fresh test database
    numbers its views from 1 again, so an old marker would claim a new test's frame."""
    import redis

    from emotion import freshness, receipts

    client = freshness.broker_redis()
    if client is not None:
        with contextlib.suppress(redis.RedisError):  # no Redis here: every claim counts
            client.delete(receipts.KEY, *client.scan_iter(f"{receipts.CLAIMED}:*", count=1000))


@pytest.fixture(autouse=True)
def _impressions():
    """Each test starts and ends with no impressions waiting to be written, and no cached experiment."""
    from recommender import experiments, tracking

    tracking.discard()
    experiments.forget_running()
    yield
    tracking.discard()


@pytest.fixture
def category(db) -> Category:
    return Category.objects.create(name="Audio", slug="audio")


@pytest.fixture
def other_category(db) -> Category:
    return Category.objects.create(name="Books", slug="books")


@pytest.fixture
def make_product(category):
    counter = iter(range(1, 10_000))

    def make(**fields) -> Product:
        n = next(counter)
        defaults = {
            "category": category,
            "name": f"Product {n}",
            "slug": f"product-{n}",
            "description": "A fine thing.",
            "price": Decimal("10.00"),
            "stock": 10,
        }
        defaults.update(fields)
        return Product.objects.create(**defaults)

    return make


@pytest.fixture
def product(make_product) -> Product:
    return make_product(name="Aurora Headphones", slug="aurora-headphones", price=Decimal("99.90"))


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    """A real face (scikit-image's public-domain astronaut), as a browser would send it."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(Image.fromarray(data.astronaut()).resize((320, 240)))).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()
