from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.models import Category, Interaction, Order, Product

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (Category.objects.count(), Product.objects.count(), Interaction.objects.count(), Order.objects.count())


def test_seed_is_believable_and_idempotent(settings):
    call_command("seed_demo", products=60, shoppers=40)
    first = counts()
    assert first[0] >= 8 and first[1] == 60 and first[2] > 40 * 8 and first[3] > 0
    call_command("seed_demo", products=60, shoppers=40)
    assert counts() == first
    product = Product.objects.first()
    assert (Path(settings.MEDIA_ROOT) / product.image.name).is_file()
    assert len(set(Product.objects.values_list("name", flat=True))) == 60
    # history follows category preferences: most shoppers concentrate on few categories
    kinds = set(Interaction.objects.values_list("kind", flat=True))
    assert kinds == {"view", "cart", "purchase"}


def test_seed_grows_with_scale():
    call_command("seed_demo", products=30, shoppers=10)
    call_command("seed_demo", products=50, shoppers=10)
    assert Product.objects.count() == 50


@pytest.mark.parametrize("args", [{"scale": 0}, {"scale": 10_000}, {"products": -5}])
def test_seed_rejects_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("seed_demo", **args)
