"""On-device mode in Chromium with the fake webcam: the live badge, reactions and recommendations
work as in server mode, and no image byte leaves the page.

Live Django server in browser mode (``EMOTION_INFERENCE=browser``), a real worker (it rebuilds the
reactions, as in server mode) on the real Redis broker, PostgreSQL. Every request the page makes
is recorded with its body, in the browser and as the server received it: none goes to the frames
API, none carries an image or a large binary body, and all stay on the shop's origin.
"""

import time
from urllib.parse import urlsplit

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command

from emotion.models import EmotionObservation, Outcome, ReactionEvent
from shop.models import Product
from tests.e2e.conftest import open_dialog, shot
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8", b"BM")
# A JSON observation is about 400 bytes; the smallest camera frame the server path sends is ~10 KB.
MAX_BODY_BYTES = 2048


class Requests:
    """Every request of the pages it watches: method, URL, content type and body (when Playwright
    can read it: not a Blob's)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, bytes]] = []

    def watch(self, page) -> None:
        page.on("request", self._record)

    def _record(self, request) -> None:
        body = request.post_data_buffer or b""
        self.sent.append((request.method, request.url, request.headers.get("content-type", ""), body))

    def to(self, path: str) -> list[bytes]:
        return [body for _, url, _, body in self.sent if urlsplit(url).path == path]


@pytest.fixture
def received(monkeypatch) -> list[tuple[str, str, int]]:
    """Every request the live server received, as it arrived: path, content type, body length.

    The server's side sees every body byte, whatever the page sent it as (a Blob's included).
    """
    seen: list[tuple[str, str, int]] = []
    handle = WSGIHandler.__call__

    def record(self, environ, start_response):
        seen.append((environ["PATH_INFO"], environ.get("CONTENT_TYPE", ""), int(environ.get("CONTENT_LENGTH") or 0)))
        return handle(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", record)
    return seen


def test_browser_mode_badge_reactions_and_recommendations_without_sending_a_frame(
    new_page, console, live_server, tmp_path, settings, received
):
    settings.EMOTION_INFERENCE = "browser"
    call_command("seed_demo", products=60, shoppers=60)
    call_command("train_recommender")
    product = Product.objects.order_by("pk").first()
    page = new_page()
    requests = Requests()
    requests.watch(page)

    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        page.goto(f"{live_server.url}/")
        open_dialog(page, "#emotion-offer button")
        assert "No picture ever leaves it" in page.inner_text("#consent-dialog")
        page.click("#consent-accept")
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.wait_for_function("() => document.getElementById('emotion-badge').dataset.label", timeout=90_000)
        label = page.get_attribute("#emotion-badge", "data-label")
        view_id = page.get_attribute("#product", "data-view-id")
        deadline = time.monotonic() + 60
        while not ReactionEvent.objects.filter(view__view_id=view_id).exists():
            assert time.monotonic() < deadline, "no reaction event"
            time.sleep(0.5)
        shot(page, "on-device-camera-on")

        observations = EmotionObservation.objects.filter(view__view_id=view_id)
        assert observations.exists()
        assert set(observations.values_list("outcome", flat=True)) == {Outcome.CLIENT_REPORTED}
        assert observations.filter(label=label).exists()
        assert len(requests.to("/api/v1/observations/")) >= 2

        # The recommendations read the reaction as in server mode (the astronaut smiles).
        page.goto(f"{live_server.url}/")
        reasons = page.locator(".recommendations .recommendation-reason").all_inner_texts()
        assert any(f"smiled at {product.name}" in reason for reason in reasons), reasons

    # No image byte left the page: no request to the frames API, no image or large body, one origin.
    origin = urlsplit(live_server.url).netloc
    assert requests.to("/api/v1/frames/") == []
    assert {urlsplit(url).netloc for _, url, _, _ in requests.sent} == {origin}
    for method, url, content_type, body in requests.sent:
        assert not content_type.startswith("image/"), (method, url)
        assert not body.startswith(IMAGE_MAGIC), (method, url)
        assert len(body) <= MAX_BODY_BYTES, (method, url, len(body))
    assert sum(path == "/api/v1/observations/" for path, _, _ in received) >= 2  # the recorder saw them
    for path, content_type, length in received:
        assert path != "/api/v1/frames/" and not content_type.startswith("image/"), (path, content_type)
        assert length <= MAX_BODY_BYTES, (path, content_type, length)
    # The model files and the runtime came from the shop itself.
    fetched = {urlsplit(url).path for _, url, _, _ in requests.sent}
    assert {"/api/v1/on-device/models/emotion.tflite", "/api/v1/on-device/models/face_detector.tflite"} <= fetched
    assert console.csp_violations == [], console.csp_violations
