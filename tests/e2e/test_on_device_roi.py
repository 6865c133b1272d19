"""The region of interest in on-device mode: a shopper far from a 1280x720 camera, in Chromium.

As in server mode (tests/e2e/test_roi_capture.py), the face is too small for the detector in the
whole picture drawn 320 px wide; the observations API's answer names the central half, where the
page finds her, then the region around her face, which the page analyses and classifies. Only
positions travel: the report names the region it analysed and the face's box in it.
"""

import json
import time

import pytest

from emotion.models import EmotionObservation, Outcome
from emotion.roi import SEARCH_REGION, Region
from tests.e2e.conftest import answer_offer
from tests.e2e.fake_camera import write_far_face_video

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_camera(tmp_path) -> object:
    """This module's webcam: 1280x720, the face 120 px wide (30 px of the page's 320)."""
    return write_far_face_video(tmp_path / "far.y4m")


def test_the_page_analyses_the_region_around_the_face(new_page, live_server, product, settings, console):
    settings.EMOTION_INFERENCE = "browser"
    page = new_page()
    reports: dict[int, Region | None] = {}  # seq -> the region of the camera picture the page analysed

    def record(request) -> None:
        if request.url.endswith("/api/v1/observations/") and request.method == "POST":
            body = json.loads(request.post_data_buffer)
            reports[body["seq"]] = Region.parse(body["roi"]) if "roi" in body else None

    page.on("request", record)
    page.goto(f"{live_server.url}/")
    answer_offer(page, "#consent-accept")
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    deadline = time.monotonic() + 90
    while sum(1 for region in reports.values() if region and region != SEARCH_REGION) < 3:
        assert time.monotonic() < deadline, f"no region analysed: {reports}"
        page.wait_for_timeout(250)
    view_id = page.get_attribute("#product", "data-view-id")
    page.wait_for_timeout(1000)  # the last reports sent are stored
    observations = {o.sequence: o for o in EmotionObservation.objects.filter(view__view_id=view_id)}
    whole = [seq for seq, region in reports.items() if region is None and seq in observations]
    tracking = [seq for seq, region in reports.items() if region and region != SEARCH_REGION and seq in observations]
    assert whole and len(tracking) >= 2, reports
    assert all(observations[seq].label == "" for seq in whole)  # too small in the whole picture
    for seq in tracking:
        region, stored = reports[seq], observations[seq]
        assert 0.15 <= region.w <= 0.4 and abs(region.x + region.w / 2 - 0.5) < 0.05, region
        assert stored.outcome == Outcome.CLIENT_REPORTED and stored.label, stored
        assert stored.shown_region == region.as_dict() and stored.face_region
    assert console.csp_violations == [], console.csp_violations
