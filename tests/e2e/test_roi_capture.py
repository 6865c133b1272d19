"""The region of interest in a real browser: a shopper far from a 1280x720 camera.

Drawn whole into the page's 320 px, the astronaut's face is 30 px wide: too small for the
detector, so the worker finds no face. The frames API's answer then names the picture's
central half, where the worker finds her; from then on it names the region around her face
(``emotion.roi``), and the worker sees the face four times larger and classifies it.
"""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from emotion.models import EmotionObservation, Outcome
from emotion.roi import SEARCH_REGION, Region
from tests.e2e.conftest import answer_offer
from tests.e2e.fake_camera import write_far_face_video
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_camera(tmp_path) -> object:
    """This module's webcam: 1280x720, the face 120 px wide (30 px of the page's 320)."""
    return write_far_face_video(tmp_path / "far.y4m")


def test_the_page_sends_the_region_around_the_face_and_the_worker_sees_it_larger(
    new_page, live_server, tmp_path, product
):
    page = new_page()
    frames: dict[int, Region | None] = {}  # seq -> the region of the camera picture the frame shows

    def record(request) -> None:
        if "/api/v1/frames/" not in request.url or request.method != "POST":
            return
        query = parse_qs(urlsplit(request.url).query)
        region = Region.parse(query["roi"][0]) if "roi" in query else None
        frames[int(query["seq"][0])] = region

    page.on("request", record)
    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        page.goto(f"{live_server.url}/")
        answer_offer(page, "#consent-accept")
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        deadline = time.monotonic() + 60
        while sum(1 for region in frames.values() if region) < 4:
            assert time.monotonic() < deadline, f"no region sent: {frames}"
            page.wait_for_timeout(250)
        view_id = page.get_attribute("#product", "data-view-id")
        page.wait_for_timeout(1500)  # the last frames sent are stored
    observations = {
        o.sequence: o for o in EmotionObservation.objects.filter(view__view_id=view_id, sequence__in=list(frames))
    }
    whole = [seq for seq, region in frames.items() if region is None and seq in observations]
    cropped = [seq for seq, region in frames.items() if region is not None and seq in observations]
    assert whole and cropped
    assert all(observations[seq].outcome == Outcome.NO_FACE for seq in whole)
    tracking = [seq for seq in cropped if frames[seq] != SEARCH_REGION]
    assert len(tracking) >= 2, frames
    for seq in tracking:
        # About 2.5 face widths around the face in the middle of the picture: 300 of 1280 px.
        region = frames[seq]
        assert 0.15 <= region.w <= 0.4 and abs(region.x + region.w / 2 - 0.5) < 0.05, region
        assert observations[seq].outcome == Outcome.STORED and observations[seq].label, observations[seq]
