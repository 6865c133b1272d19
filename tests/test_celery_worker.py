"""A real worker process, the real Redis broker, the real PostgreSQL test database."""

import uuid

import pytest

from shop.models import Interaction
from shop.tasks import refresh_product_popularity
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_through_redis(tmp_path, make_product):
    viewed, bought = make_product(), make_product()
    shopper = uuid.uuid4()
    # A view counts toward popularity once its page reported a dwell time (shop.services).
    Interaction.objects.create(kind="view", product=viewed, shopper_id=shopper, dwell_seconds=5)
    Interaction.objects.create(kind="purchase", product=bought, shopper_id=shopper)

    with celery_worker(tmp_path) as (client, _worker):
        result = client.send_task(refresh_product_popularity.name)
        assert result.get(timeout=60) == 2

    viewed.refresh_from_db()
    bought.refresh_from_db()
    assert (viewed.popularity, bought.popularity) == (1.0, 5.0)
