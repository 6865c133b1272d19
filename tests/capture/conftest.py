import base64
import io
import re

import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from PIL import Image

from emotion import freshness


def encode(array: np.ndarray, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    """Capture what the API would send to the broker."""
    calls: list[tuple] = []
    monkeypatch.setattr("emotion.tasks.enqueue_frame", lambda *args: calls.append(args))
    # Nothing reaches the broker, so no backlog either (whatever another run left in it).
    monkeypatch.setattr("emotion.freshness.queue_depth", lambda: 0)
    freshness.forget_backlog()
    return calls


class Shopper:
    """A browser session: opens product pages (views) and talks to the API with CSRF."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def open(self, product) -> str:
        return str(self.client.get(product.get_absolute_url()).context["view_id"])

    @property
    def csrf(self) -> str:
        return self.client.cookies["csrftoken"].value

    def consent(self):
        return self.client.post("/api/v1/consent/", HTTP_X_CSRFTOKEN=self.csrf)

    def withdraw(self):
        return self.client.delete("/api/v1/consent/", HTTP_X_CSRFTOKEN=self.csrf)

    def end_view(self, view_id, seconds: float):
        """The page's dwell report, sent when the product leaves the screen."""
        url = reverse("shop:dwell", args=[view_id])
        return self.client.post(url, {"seconds": seconds}, HTTP_X_CSRFTOKEN=self.csrf)

    def post_frame(self, product, view_id, frame: bytes, seq: int = 0, **extra):
        fields = {"product": product.pk, "view": view_id, "seq": seq, "ts": 0, "frame": io.BytesIO(frame)}
        fields.update(extra.pop("fields", {}))
        return self.client.post("/api/v1/frames/", fields, HTTP_X_CSRFTOKEN=self.csrf, **extra)


@pytest.fixture
def shopper(db) -> Shopper:
    return Shopper()


BODY = re.compile(rb'"body": ?"([A-Za-z0-9+/=]+)"')


def readable_frame(blob: bytes, jpeg: bytes) -> bool:
    """Whether the frame can be read from ``blob`` as it is, or from a Celery message body in it."""
    plain = (jpeg[64:128], base64.b64encode(jpeg)[64:128])
    layers = [blob, *(base64.b64decode(m) for m in BODY.findall(blob))]
    return any(chunk in layer for layer in layers for chunk in plain)
