"""POST /api/v1/observations/ (on-device mode): the frames API's checks, reports that hold together,
client-reported storage, the per-shopper cap per product, and the mode switch both ways."""

import gzip
import json
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from emotion import on_device, roi, services
from emotion.api import ShopperRateThrottle
from emotion.ml.labels import CLASSES
from emotion.models import AffectSummary, EmotionObservation, Outcome, ProductEmotionDaily, ReactionEvent
from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db

HAPPY = dict.fromkeys(CLASSES, 0.02) | {"happy": 0.88}


@pytest.fixture(autouse=True)
def _browser_mode(settings):
    settings.EMOTION_INFERENCE = "browser"


@pytest.fixture
def refreshes(monkeypatch) -> list[int]:
    """The reaction rebuilds the API hands to the worker (no broker in these tests)."""
    queued: list[int] = []
    monkeypatch.setattr("emotion.tasks.queue_reaction_refresh", queued.append)
    return queued


@pytest.fixture
def ready(shopper, product):
    view_id = shopper.open(product)
    assert shopper.consent().status_code == 201
    return shopper, product, view_id


FIELDS = (
    *("product", "view", "seq", "ts", "roi", "model_version", "faces", "label", "confidence", "probabilities"),
    *("quality", "box", "frame_width", "frame_height"),
)


def report(product, view_id, seq: int = 0, **fields) -> dict:
    body = {
        "product": product.pk,
        "view": view_id,
        "seq": seq,
        "ts": 0,
        "model_version": on_device.page_parameters().model_version,
        "faces": 1,
        "label": "happy",
        "confidence": 0.88,
        "probabilities": HAPPY,
        "quality": 0.9,
        "box": [140, 70, 40, 40],
        "frame_width": 320,
        "frame_height": 180,
    }
    return body | fields


def post(shopper: Shopper, body: dict):
    return shopper.client.post(
        "/api/v1/observations/", json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=shopper.csrf
    )


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] and body["code"] == code, body
    assert not EmotionObservation.objects.exists()


def test_a_report_is_stored_as_client_reported_and_its_reactions_rebuilt_by_the_worker(ready, refreshes):
    shopper, product, view_id = ready
    response = post(shopper, report(product, view_id, seq=4))
    assert response.status_code == 201, response.content
    assert response.json() == {"status": "stored", "seq": 4, "next_frame_ms": 500, "roi": response.json()["roi"]}
    stored = EmotionObservation.objects.get()
    assert (stored.outcome, stored.label, stored.sequence) == (Outcome.CLIENT_REPORTED, "happy", 4)
    assert stored.probabilities == HAPPY and stored.quality == 0.9
    assert stored.model_version == on_device.page_parameters().model_version
    assert refreshes == [stored.view_id]
    # The same frame again (a retried request) is not stored twice.
    again = post(shopper, report(product, view_id, seq=4))
    assert again.status_code == 201 and again.json()["status"] == "duplicate"
    assert EmotionObservation.objects.count() == 1


def test_reports_feed_reactions_summaries_and_rollups_and_go_with_the_consent(ready, refreshes):
    shopper, product, view_id = ready
    start = time.time() * 1000 - 10_000
    for seq in range(5):  # within the 5 a second the rate limit allows
        assert post(shopper, report(product, view_id, seq=seq, ts=start + 500 * seq)).status_code == 201
    services.refresh_view_reactions(EmotionObservation.objects.first().view)  # what the worker runs
    (event,) = ReactionEvent.objects.filter(product=product)
    assert event.emotion == "happy" and event.duration_seconds == pytest.approx(2.5)
    assert AffectSummary.objects.get(product=product).valence > 0
    assert ProductEmotionDaily.objects.get(product=product).emotion == "happy"
    erased = shopper.withdraw().json()["erased"]
    assert erased["observations"] == 5 and erased["reactions"] == 1
    assert not EmotionObservation.objects.exists() and not ProductEmotionDaily.objects.exists()


def test_the_region_of_interest_follows_the_reported_face_as_in_server_mode(ready, refreshes, settings):
    shopper, product, view_id = ready
    # The whole picture (320 x 180 of a 16:9 camera) with the face near its centre: zoom in around it.
    first = post(shopper, report(product, view_id, seq=0)).json()
    stored = EmotionObservation.objects.get()
    assert stored.shown_region is None
    assert stored.face_region == pytest.approx({"x": 0.4375, "y": 0.3889, "w": 0.125, "h": 0.2222}, abs=1e-4)
    region = first["roi"]
    assert region == roi.region_around(roi.Region(**stored.face_region)).as_dict()
    # A frame of that region, the face in it: the region follows the face, mapped onto the picture.
    shown = f"{region['x']},{region['y']},{region['w']},{region['h']}"
    zoomed = {"box": [60, 100, 120, 120], "frame_width": 320, "frame_height": 320}  # the region is square
    second = post(shopper, report(product, view_id, seq=1, roi=shown, **zoomed)).json()
    assert EmotionObservation.objects.get(sequence=1).shown_region == region
    assert second["roi"] is not None and second["roi"] != region
    # No face in the region: back to the whole picture.
    gap = {"faces": 0, "label": None, "confidence": None, "probabilities": None, "quality": None, "box": None}
    assert post(shopper, report(product, view_id, seq=2, roi=shown, **gap)).json()["roi"] is None
    settings.EMOTION_CAPTURE_ROI = False
    assert post(shopper, report(product, view_id, seq=3)).json()["roi"] is None


def test_a_gap_is_stored_without_a_label(ready, refreshes):
    shopper, product, view_id = ready
    body = report(product, view_id, faces=0, label=None, confidence=None, probabilities=None, quality=None, box=None)
    assert post(shopper, body).status_code == 201
    gap = EmotionObservation.objects.get()
    assert (gap.outcome, gap.label, gap.probabilities) == (Outcome.CLIENT_REPORTED, "", None)


def test_the_live_status_reads_reported_labels(ready, refreshes):
    shopper, product, view_id = ready
    post(shopper, report(product, view_id))
    status = shopper.client.get(reverse("emotion:view-status", args=[view_id])).json()
    assert status["last_label"] == "happy" and status["frames"] == 1


def test_no_consent(shopper, product):
    view_id = shopper.open(product)
    assert_refused(post(shopper, report(product, view_id)), 403, "no_consent")


def test_missing_csrf(ready):
    shopper, product, view_id = ready
    response = shopper.client.post("/api/v1/observations/", report(product, view_id), content_type="application/json")
    assert_refused(response, 403, "csrf_failed")


def test_someone_elses_view(ready, product):
    _, _, view_id = ready
    other = Shopper()
    other.open(product)
    assert other.consent().status_code == 201
    assert_refused(post(other, report(product, view_id)), 404, "unknown_view")


def test_a_view_of_another_product(ready, make_product):
    shopper, _, view_id = ready
    assert_refused(post(shopper, report(make_product(), view_id)), 404, "unknown_view")


@pytest.mark.parametrize(
    "fields",
    [
        {"label": "joy"},
        {"probabilities": {"happy": 1.0}},
        {"probabilities": HAPPY | {"happy": 0.5}},  # does not sum to 1
        {"label": "sad", "confidence": 0.02},  # not the likeliest class
        {"confidence": 0.5},  # not the label's probability
        {"faces": 0},  # a label without a face
        {"quality": 0.01},  # under the card's threshold: the page must report a gap
        {"quality": None},
        {"label": None},  # a gap with probabilities
        {"model_version": "another-model"},
        {"box": None},  # a label without the face's box
        {"box": [300, 70, 40, 40]},  # outside the frame
        {"box": [140, 70, 0, 40]},
        {"frame_width": None},
        {"roi": "0.5,0.5,0.9,0.9"},  # beyond the picture
        {"seq": -1},
        {"view": "not-a-uuid"},
    ],
)
def test_an_inconsistent_or_invalid_report_is_refused_with_a_reason(ready, refreshes, fields):
    shopper, product, view_id = ready
    assert_refused(post(shopper, report(product, view_id, **fields)), 400, "invalid")


def test_a_body_that_is_not_json(ready, face_jpeg):
    shopper, product, view_id = ready
    response = shopper.client.post(
        "/api/v1/observations/", face_jpeg[:4000], content_type="image/jpeg", HTTP_X_CSRFTOKEN=shopper.csrf
    )
    assert response.status_code == 415 and response.json()["error"]
    multipart = shopper.client.post(
        "/api/v1/observations/", report(product, view_id, probabilities="{}"), HTTP_X_CSRFTOKEN=shopper.csrf
    )
    # Django's CSRF check has read the form already, so DRF finds no JSON in it: refused either way.
    assert multipart.status_code in (400, 415) and multipart.json()["error"], multipart.content
    assert not EmotionObservation.objects.exists()


def test_a_body_too_large_or_nested_too_deeply_is_a_json_4xx(ready):
    shopper, _product, _view_id = ready
    big = shopper.client.post(
        "/api/v1/observations/", "[" + "0," * 10_000 + "0]", content_type="application/json",
        HTTP_X_CSRFTOKEN=shopper.csrf,
    )  # fmt: skip
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    nested = shopper.client.post(
        "/api/v1/observations/", "[" * 3000 + "]" * 3000, content_type="application/json",
        HTTP_X_CSRFTOKEN=shopper.csrf,
    )  # fmt: skip
    assert nested.status_code == 400 and nested.json()["code"] == "malformed_body", nested.content
    assert not EmotionObservation.objects.exists()


def test_one_shopper_is_capped_per_product_and_period(ready, make_product, refreshes, settings):
    settings.EMOTION_CLIENT_OBSERVATION_CAP = 3
    shopper, product, view_id = ready
    for seq in range(3):
        assert post(shopper, report(product, view_id, seq=seq)).status_code == 201
    cache.clear()  # the per-second rate limit is not what refuses the next one
    capped = post(shopper, report(product, view_id, seq=3))
    assert capped.status_code == 429 and capped.json()["code"] == "product_cap"
    assert 1 <= int(capped["Retry-After"]) <= settings.EMOTION_CLIENT_OBSERVATION_CAP_SECONDS
    # A new view of the same product does not reset the cap ...
    assert post(shopper, report(product, shopper.open(product), seq=0)).status_code == 429
    # ... while another product, and another shopper on this one, are not capped.
    other_product = make_product()
    assert post(shopper, report(other_product, shopper.open(other_product))).status_code == 201
    other = Shopper()
    other_view = other.open(product)
    other.consent()
    assert post(other, report(product, other_view)).status_code == 201
    assert EmotionObservation.objects.filter(product=product).count() == 4


def test_the_frames_per_shopper_rate_limit_counts_observations(ready, refreshes, monkeypatch):
    monkeypatch.setattr(ShopperRateThrottle, "THROTTLE_RATES", {"frames": "2/minute"})
    shopper, product, view_id = ready
    answers = [post(shopper, report(product, view_id, seq=seq)).status_code for seq in range(3)]
    assert answers == [201, 201, 429]


def test_frames_are_refused_in_browser_mode(ready, face_jpeg):
    shopper, product, view_id = ready
    response = shopper.post_frame(product, view_id, face_jpeg)
    assert response.status_code == 409 and response.json()["code"] == "on_device_inference"


def test_observations_are_refused_in_server_mode(ready, settings):
    settings.EMOTION_INFERENCE = "server"
    shopper, product, view_id = ready
    assert_refused(post(shopper, report(product, view_id)), 409, "server_inference")


def test_consent_needs_no_in_memory_broker_in_browser_mode(shopper, product, settings):
    settings.EMOTION_CAPTURE_PROBLEM = "the broker folder is on a disk"
    shopper.open(product)
    assert shopper.consent().status_code == 201
    settings.EMOTION_INFERENCE = "server"
    other = Shopper()
    other.open(product)
    assert other.consent().status_code == 503


def test_the_model_files_are_served_in_browser_mode_only(settings):
    client = Client()
    detector = client.get("/api/v1/on-device/models/face_detector.tflite")
    assert detector.status_code == 200
    assert detector.content == on_device.BLAZEFACE_FILE.read_bytes()
    again = client.get("/api/v1/on-device/models/face_detector.tflite", HTTP_IF_NONE_MATCH=detector["ETag"])
    assert again.status_code == 304
    packed = client.get("/api/v1/on-device/models/face_detector.tflite", HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip" and packed["ETag"] != detector["ETag"]
    assert gzip.decompress(packed.content) == detector.content and len(packed.content) < len(detector.content)
    assert client.get("/api/v1/on-device/models/emotion.keras").status_code == 404
    assert client.get("/api/v1/on-device/models/emotion.tflite").status_code == 200
    settings.EMOTION_INFERENCE = "server"
    assert client.get("/api/v1/on-device/models/face_detector.tflite").status_code == 404


def test_only_the_product_page_in_browser_mode_may_compile_webassembly(product, client, settings):
    page = client.get(product.get_absolute_url())
    assert "'wasm-unsafe-eval'" in page["Content-Security-Policy"]
    assert b'data-inference="browser"' in page.content and b"data-model-url=" in page.content
    assert "wasm-unsafe-eval" not in client.get("/")["Content-Security-Policy"]  # no runtime on the home page
    assert b"data-model-url=" not in client.get("/").content
    settings.EMOTION_INFERENCE = "server"
    page = client.get(product.get_absolute_url())
    assert "wasm-unsafe-eval" not in page["Content-Security-Policy"] and b"data-model-url=" not in page.content


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


@examples(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.dictionaries(st.sampled_from([*FIELDS, "extra"]), JSON, max_size=4))
def test_any_json_is_stored_whole_or_refused_with_a_reason(ready, refreshes, changes):
    shopper, product, view_id = ready
    cache.clear()  # not the rate limit
    EmotionObservation.objects.all().delete()
    response = post(shopper, report(product, view_id) | changes)
    assert response.status_code in (201, 400, 404), response.content
    if response.status_code == 201:
        stored = EmotionObservation.objects.get()
        assert stored.outcome == Outcome.CLIENT_REPORTED
        assert stored.label == "" or max(stored.probabilities, key=stored.probabilities.get) == stored.label
    else:
        assert response.json()["error"] and not EmotionObservation.objects.exists()
