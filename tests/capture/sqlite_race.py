"""Run by test_sqlite_race: a frame being stored while the shopper withdraws, on a SQLite file.

Prints one JSON line: what each side raised, and the rows left afterwards.
"""

import json
import sys
import threading
import uuid

import django

django.setup()

from datetime import UTC, datetime  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from emotion import services  # noqa: E402
from emotion.models import Consent, EmotionObservation  # noqa: E402
from shop.models import Category, Product  # noqa: E402
from shop.services import Shopper, record_view  # noqa: E402

call_command("migrate", verbosity=0)
product = Product.objects.create(
    category=Category.objects.create(name="A", slug="a"), name="P", slug="p", price=1, stock=1
)
shopper = Shopper(uuid.uuid4(), None)
services.grant_consent(shopper)
view = record_view(shopper, product)
connection.close()

checked, release = threading.Event(), threading.Event()
original = services._lock_consent


def lock_then_wait(v):
    """The worker's consent check passed; hold the transaction open while the withdrawal starts."""
    found = original(v)
    checked.set()
    release.wait(10)
    return found


services._lock_consent = lock_then_wait
errors: dict[str, str] = {}


def store() -> None:
    try:
        services.record_observation(view, 0, datetime.now(UTC), services.Classification("happy", 0.9), "v")
    except Exception as exc:
        errors["worker"] = repr(exc)
    finally:
        connection.close()


def withdraw() -> None:
    try:
        services.withdraw_consent(shopper)
    except Exception as exc:
        errors["withdrawal"] = repr(exc)
    finally:
        connection.close()


worker = threading.Thread(target=store)
worker.start()
checked.wait(10)
withdrawal = threading.Thread(target=withdraw)
withdrawal.start()
withdrawal.join(0.5)  # the withdrawal is now waiting for (or racing) the worker's transaction
release.set()
worker.join(20)
withdrawal.join(20)
print(
    json.dumps(
        {"errors": errors, "observations": EmotionObservation.objects.count(), "consents": Consent.objects.count()}
    )
)
sys.exit(0)
