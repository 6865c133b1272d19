"""A two-camp shop (audio lovers, book lovers) with a logged history, and fast recommender settings."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from django.core.cache import cache

from emotion.ml.labels import valence
from emotion.models import AffectSummary
from recommender.services import Owner
from recommender.training import train_and_publish
from shop.models import Interaction, Product


@pytest.fixture(autouse=True)
def recommender_settings(settings, tmp_path):
    """A private model folder, reloads checked on every request, small single-threaded models."""
    settings.RECOMMENDER_MODEL_DIR = tmp_path / "recommender"
    settings.RECOMMENDER_RELOAD_SECONDS = 0
    settings.RECOMMENDER_SERVE_THREADS = settings.RECOMMENDER_TRAIN_THREADS = 1
    settings.RECOMMENDER_ALS_FACTORS = 2  # two taste camps
    settings.RECOMMENDER_ALS_REGULARIZATION = 0.1
    settings.RECOMMENDER_ALS_ALPHA = 4.0
    settings.RECOMMENDER_ALS_ITERATIONS = 10
    cache.clear()  # the cold-start pool is cached across requests
    yield
    cache.clear()


@dataclass
class Shop:
    audio: list[Product]
    books: list[Product]
    subject: uuid.UUID  # a shopper with a little of both camps in their history

    @property
    def subject_owner(self) -> Owner:
        return Owner(None, self.subject)


def log(shopper: uuid.UUID, product: Product, kind: str = "view", dwell: float | None = 20.0, user=None) -> None:
    Interaction.objects.create(
        shopper_id=shopper, product=product, kind=kind, dwell_seconds=dwell if kind == "view" else None, user=user
    )


def react(shopper: uuid.UUID, product: Product, user=None, **seconds: float) -> AffectSummary:
    """Store a reaction summary as the emotion worker would."""
    summary, _ = AffectSummary.objects.update_or_create(
        shopper_id=shopper,
        product=product,
        defaults={
            "user": user,
            "seconds": seconds,
            "valence": valence(seconds),
            "mean_confidence": 0.9,
        },
    )
    return summary


@pytest.fixture
def shop(db, make_product, category, other_category) -> Shop:
    """8 audio and 8 book products; 20 shoppers per camp view 4 of their camp's products."""
    audio = [make_product(name=f"Audio {n} speaker", price=Decimal(20 + n)) for n in range(8)]
    books = [make_product(name=f"Book {n} novel", price=Decimal(10 + n), category=other_category) for n in range(8)]
    rng = np.random.default_rng(3)
    for camp in (audio, books):
        for _ in range(20):
            shopper = uuid.uuid4()
            for k in rng.choice(len(camp), size=4, replace=False):
                log(shopper, camp[k])
            log(shopper, camp[int(rng.integers(len(camp)))], "purchase")
    for rank, product in enumerate(audio + books):
        product.popularity = 100.0 / (rank + 1)  # skewed, as real popularity is
        product.save(update_fields=["popularity"])
    subject = uuid.uuid4()
    for product in (audio[0], audio[1], books[0], books[1]):
        log(subject, product)
    return Shop(audio, books, subject)


@pytest.fixture
def trained(shop) -> Shop:
    train_and_publish()
    return shop
