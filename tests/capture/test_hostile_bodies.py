"""Hostile bodies on POST /api/v1/frames/: refused from their headers, before anything reads them,
and always with the API's JSON error (never a 500, never Django's HTML 400 page)."""

import pytest
from django.test.client import FakePayload

from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(shopper: Shopper, product):
    view_id = shopper.open(product)
    assert shopper.consent().status_code == 201
    return shopper, product, view_id


class CountingPayload(FakePayload):
    """A request body that records how many bytes the server read from it."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.headers["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert body["error"] and body["code"] == code, body


@pytest.mark.parametrize("with_csrf", [True, False])
def test_a_declared_gigabyte_is_refused_unread_before_the_csrf_check(ready, enqueued, with_csrf):
    """A 1 GB declared body: 413 from the Content-Length alone, not one byte read (without a CSRF
    header too: the CSRF check would otherwise parse the multipart body looking for a form token)."""
    shopper, _product, _view_id = ready
    boundary = "BoUnDaRy"
    body = CountingPayload(f"--{boundary}\r\n".encode() + b"x" * 64 * 1024)
    headers = {"HTTP_X_CSRFTOKEN": shopper.csrf} if with_csrf else {}
    response = shopper.client.generic(
        "POST",
        "/api/v1/frames/",
        content_type=f"multipart/form-data; boundary={boundary}",
        **headers,
        **{"wsgi.input": body, "CONTENT_LENGTH": str(1024**3)},
    )
    assert_json_error(response, 413, "too_large")
    assert body.bytes_read == 0
    assert enqueued == []


def test_a_text_field_named_frame_is_a_400(ready, enqueued):
    shopper, product, view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/",
        {"product": product.pk, "view": view_id, "seq": 0, "ts": 0, "frame": "not a file"},
        HTTP_X_CSRFTOKEN=shopper.csrf,
    )
    assert_json_error(response, 400, "not_a_file")
    assert enqueued == []


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_without_boundary_is_a_json_400(ready, enqueued, content_type):
    shopper, _product, _view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/", data=b"--x\r\nabc\r\n", content_type=content_type, HTTP_X_CSRFTOKEN=shopper.csrf
    )
    assert_json_error(response, 400, "malformed_body")
    assert enqueued == []
