"""Every validation rule of POST /api/v1/frames/ answers 4xx with a reason and enqueues nothing."""

import io

import numpy as np
import pytest
from PIL import Image

from emotion.models import Consent
from tests.capture.conftest import Shopper, encode

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(shopper, product):
    view_id = shopper.open(product)
    assert shopper.consent().status_code == 201
    return shopper, product, view_id


def test_a_valid_frame_is_queued(ready, face_jpeg, enqueued):
    shopper, product, view_id = ready
    response = shopper.post_frame(product, view_id, face_jpeg, seq=7)
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "queued", "seq": 7, "next_frame_ms": 500, "roi": None}
    ((target, seq, _captured_at, frame, shown),) = enqueued
    assert seq == 7 and frame == face_jpeg and shown is None
    assert target.key == bytes(Consent.objects.get(pk=target.consent_pk).frame_key)


def test_raw_jpeg_body_with_query_metadata(ready, face_jpeg, enqueued):
    shopper, product, view_id = ready
    response = shopper.client.post(
        f"/api/v1/frames/?product={product.pk}&view={view_id}&seq=3&ts=0",
        data=face_jpeg,
        content_type="image/jpeg",
        HTTP_X_CSRFTOKEN=shopper.csrf,
    )
    assert response.status_code == 202, response.content
    assert len(enqueued) == 1


def assert_rejected(response, status: int, code: str, enqueued) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] and body["code"] == code, body
    assert enqueued == []


def test_no_consent(shopper, product, face_jpeg, enqueued):
    view_id = shopper.open(product)
    assert_rejected(shopper.post_frame(product, view_id, face_jpeg), 403, "no_consent", enqueued)


def test_withdrawn_consent(ready, face_jpeg, enqueued):
    shopper, product, view_id = ready
    shopper.withdraw()
    assert_rejected(shopper.post_frame(product, view_id, face_jpeg), 403, "no_consent", enqueued)


def test_missing_csrf(ready, face_jpeg, enqueued):
    shopper, product, view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/", {"product": product.pk, "view": view_id, "seq": 0, "ts": 0, "frame": io.BytesIO(face_jpeg)}
    )
    assert_rejected(response, 403, "csrf_failed", enqueued)


def test_consent_needs_csrf_too(shopper, product):
    shopper.open(product)
    response = shopper.client.post("/api/v1/consent/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


def test_oversize_frame(ready, enqueued):
    shopper, product, view_id = ready
    noise = np.random.default_rng(0).integers(0, 255, (1080, 1900, 3), dtype=np.uint8)
    big = encode(noise, quality=95)
    assert len(big) > 256 * 1024
    assert_rejected(shopper.post_frame(product, view_id, big), 413, "too_large", enqueued)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 100, "unsupported_type"),
        (b"<html>not an image</html>", "unsupported_type"),
    ],
)
def test_wrong_type_or_empty(ready, enqueued, frame, code):
    shopper, product, view_id = ready
    assert_rejected(shopper.post_frame(product, view_id, frame), 400, code, enqueued)


def test_truncated_jpeg(ready, face_jpeg, enqueued):
    shopper, product, view_id = ready
    truncated = face_jpeg[: len(face_jpeg) // 2]
    assert_rejected(shopper.post_frame(product, view_id, truncated), 400, "undecodable", enqueued)


def test_too_many_pixels(ready, enqueued):
    shopper, product, view_id = ready
    wide = encode(np.zeros((100, 2500), dtype=np.uint8), "PNG")
    assert_rejected(shopper.post_frame(product, view_id, wide), 400, "bad_dimensions", enqueued)


def test_decompression_bomb(ready, enqueued):
    shopper, product, view_id = ready
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, "PNG")  # tiny file, 900 megapixels declared
    bomb = buffer.getvalue()
    assert len(bomb) < 256 * 1024
    assert_rejected(shopper.post_frame(product, view_id, bomb), 400, "bad_dimensions", enqueued)


def test_unknown_product(ready, face_jpeg, enqueued):
    shopper, _product, view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/",
        {"product": 999999, "view": view_id, "seq": 0, "ts": 0, "frame": io.BytesIO(face_jpeg)},
        HTTP_X_CSRFTOKEN=shopper.csrf,
    )
    assert_rejected(response, 404, "unknown_product", enqueued)


def test_view_of_another_product(ready, make_product, face_jpeg, enqueued):
    shopper, _product, view_id = ready
    other = make_product()
    assert_rejected(shopper.post_frame(other, view_id, face_jpeg), 404, "unknown_view", enqueued)


def test_missing_view(ready, face_jpeg, enqueued):
    shopper, product, _view_id = ready
    response = shopper.post_frame(product, "6f1c0c6e-5d1b-4f55-9a0e-3f1b6c1f0a11", face_jpeg)
    assert_rejected(response, 404, "unknown_view", enqueued)


def test_foreign_view(ready, face_jpeg, enqueued):
    _owner, product, view_id = ready
    intruder = Shopper()
    intruder.open(product)
    intruder.consent()
    assert_rejected(intruder.post_frame(product, view_id, face_jpeg), 404, "unknown_view", enqueued)


@pytest.mark.parametrize(
    "fields",
    [{"seq": -1}, {"seq": "abc"}, {"product": "x"}, {"view": "not-a-uuid"}, {"ts": "yesterday"}, {"seq": 10**9}],
)
def test_bad_metadata(ready, face_jpeg, enqueued, fields):
    shopper, product, view_id = ready
    response = shopper.post_frame(product, view_id, face_jpeg, fields=fields)
    assert_rejected(response, 400, "invalid", enqueued)
    assert set(response.json()["fields"]) <= {"seq", "product", "view", "ts"}


def test_missing_frame(ready, enqueued):
    shopper, product, view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/", {"product": product.pk, "view": view_id, "seq": 0, "ts": 0}, HTTP_X_CSRFTOKEN=shopper.csrf
    )
    assert_rejected(response, 400, "missing", enqueued)


def test_unsupported_content_type(ready, enqueued):
    shopper, _product, _view_id = ready
    response = shopper.client.post(
        "/api/v1/frames/", data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=shopper.csrf
    )
    assert_rejected(response, 415, "unsupported_media_type", enqueued)


def test_throttled(ready, face_jpeg, enqueued, settings):
    shopper, product, view_id = ready
    statuses = [shopper.post_frame(product, view_id, face_jpeg, seq=i).status_code for i in range(8)]
    assert statuses[:5] == [202] * 5
    assert statuses[5:] == [429] * 3
    response = shopper.post_frame(product, view_id, face_jpeg, seq=99)
    assert response.json()["code"] == "throttled"
    assert len(enqueued) == 5


def test_get_is_not_allowed(ready):
    shopper, _product, _view_id = ready
    assert shopper.client.get("/api/v1/frames/").status_code == 405


def test_broker_down_is_503_with_a_reason(ready, face_jpeg, monkeypatch):
    from kombu.exceptions import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("emotion.tasks._publish_frame", down)
    shopper, product, view_id = ready
    response = shopper.post_frame(product, view_id, face_jpeg)
    assert response.status_code == 503
    assert response.json()["code"] == "broker_unavailable"
    assert response["Retry-After"] == "2"
