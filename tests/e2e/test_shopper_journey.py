"""A shopper's journey in a real browser (Chromium driven by Playwright) with a fake webcam.

Live Django server, real Redis broker, a real Celery worker process and PostgreSQL. The
camera shows scikit-image's public-domain astronaut. Screenshots of each step are saved
under test-artifacts/.
"""

import shutil
import time
from pathlib import Path

import pytest

from emotion.models import EmotionObservation, ReactionEvent
from tests.e2e.fake_camera import write_face_video
from tests.workers import ROOT, celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> Path:
    return write_face_video(tmp_path_factory.mktemp("camera") / "face.y4m", face_seconds=6)


@pytest.fixture
def browser(fake_camera, monkeypatch):
    playwright = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={fake_camera}",
            ],
        )
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_consent_capture_badge_and_withdrawal(browser, live_server, make_product, tmp_path):
    product = make_product(name="Aurora Headphones", slug="aurora-headphones")
    page = browser.new_page()
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)

    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        # 1. Declining: the shop works and no frame is ever sent.
        page.goto(f"{live_server.url}/products/{product.slug}/")
        page.click("#emotion-offer button")
        page.click("#consent-decline")
        page.wait_for_timeout(2000)
        assert frames == []
        assert page.is_hidden("#emotion-offer")
        shot(page, "1-declined")

        # 2. Accepting from the footer's camera settings: capture starts, the badge shows an emotion.
        page.reload()
        page.click("footer button[data-bs-target='#consent-dialog']")
        page.click("#consent-accept")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.wait_for_function("document.getElementById('emotion-badge').dataset.label", timeout=60_000)
        label = page.get_attribute("#emotion-badge", "data-label")
        shot(page, "2-camera-on")
        assert len(frames) >= 2
        view_id = page.get_attribute("#product", "data-view-id")
        deadline = time.monotonic() + 60
        while not ReactionEvent.objects.filter(view__view_id=view_id).exists():
            assert time.monotonic() < deadline, "no reaction event"
            time.sleep(0.5)
        assert EmotionObservation.objects.filter(view__view_id=view_id, label=label).exists()

        # 3. Stop camera: no more frames, consent withdrawn, the data erased.
        page.click("#emotion-stop")
        page.wait_for_selector("#emotion-on", state="hidden")
        sent = len(frames)
        page.wait_for_timeout(2000)
        shot(page, "3-stopped")
        assert len(frames) == sent
        assert not EmotionObservation.objects.filter(view__view_id=view_id).exists()
        assert not ReactionEvent.objects.exists()


def test_product_cards_in_a_list_are_captured_one_at_a_time(browser, live_server, make_product, tmp_path):
    from shop.models import Interaction

    products = [make_product(name=f"Card {i}") for i in range(3)]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)
    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        page.goto(f"{live_server.url}/products/")
        page.click("#emotion-offer button")
        page.click("#consent-accept")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.wait_for_function("document.getElementById('emotion-badge').dataset.label", timeout=60_000)
        shot(page, "4-list-camera-on")
    card_views = Interaction.objects.filter(kind="view", product__in=products)
    assert card_views.exists(), "a card in view should open a view"
    watched = {str(v.view_id) for v in card_views}
    assert frames and all(any(f"view={view_id}" in url for view_id in watched) for url in frames)
    assert EmotionObservation.objects.filter(view__in=card_views).exists()
