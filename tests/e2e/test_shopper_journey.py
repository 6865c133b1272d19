"""A shopper's journey in a real browser (Chromium driven by Playwright) with a fake webcam.

Live Django server, real Redis broker, a real Celery worker process and PostgreSQL. The
camera shows scikit-image's public-domain astronaut. Screenshots of each step are saved
under test-artifacts/.
"""

import shutil
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.urls import reverse

from emotion.models import EmotionObservation, ReactionEvent
from shop.models import Product
from tests.e2e.fake_camera import write_face_video
from tests.workers import ROOT, celery_worker

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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
        pytest.fail(
            "Chromium is not installed: apt-get install chromium chromium-driver (scripts/test.sh does it as root), "
            "or MOODSHOP_SKIP_BROWSER_TESTS=1 to skip the browser tests"
        )
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
        # The ORM connections the test opened inside sync_playwright() live in its context, out of
        # reach of pytest-django, which would then fail to drop the test database at the end.
        connections.close_all()
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def panel_reasons(page, live_server) -> list[str]:
    page.goto(f"{live_server.url}/")
    return page.locator(".recommendations .recommendation-reason").all_inner_texts()


def test_consent_capture_badge_recommendations_analytics_and_withdrawal(
    browser, live_server, tmp_path, django_user_model
):
    call_command("seed_demo", products=60, shoppers=60)
    call_command("train_recommender")
    product = Product.objects.order_by("pk").first()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)

    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        # 1. Declining: the shop works and no frame is ever sent.
        page.goto(f"{live_server.url}/")
        page.click("#emotion-offer button")
        page.click("#consent-decline")
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_timeout(2000)
        assert frames == []
        assert page.is_hidden("#emotion-offer")
        shot(page, "1-declined")
        before = panel_reasons(page, live_server)

        # 2. Accepting from the footer's camera settings on a product page: capture starts,
        #    the badge shows the emotion the server saw, reaction events are stored.
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.click("footer button[data-bs-target='#consent-dialog']")
        page.click("#consent-accept")
        page.wait_for_selector("#emotion-on:not([hidden])")
        # The footer link scrolled the product off screen (capture pauses); come back to it.
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.wait_for_function("document.getElementById('emotion-badge').dataset.label", timeout=60_000)
        label = page.get_attribute("#emotion-badge", "data-label")
        view_id = page.get_attribute("#product", "data-view-id")
        deadline = time.monotonic() + 60
        while not ReactionEvent.objects.filter(view__view_id=view_id).exists():
            assert time.monotonic() < deadline, "no reaction event"
            time.sleep(0.5)
        page.wait_for_timeout(2000)
        shot(page, "2-camera-on")
        assert len(frames) >= 2
        assert EmotionObservation.objects.filter(view__view_id=view_id, label=label).exists()

        # 3. "Recommended for you" reflects the reaction (the astronaut smiles).
        after = panel_reasons(page, live_server)
        shot(page, "3-recommended-for-you")
        assert after != before
        assert any(f"smiled at {product.name}" in reason for reason in after), after

        # 4. A staff user sees the product's reactions in the admin analytics.
        django_user_model.objects.create_superuser("staff", "staff@example.com", "a staff pass phrase")
        staff = browser.new_page(viewport={"width": 1280, "height": 1400})
        staff.goto(f"{live_server.url}/admin/login/")
        staff.fill("#id_username", "staff")
        staff.fill("#id_password", "a staff pass phrase")
        staff.click("input[type=submit]")
        staff.goto(f"{live_server.url}{reverse('admin:insights_productreaction_product', args=[product.pk])}")
        assert product.name in staff.content()
        assert label in staff.inner_text("main")
        shot(staff, "4-staff-analytics")

        # 5. Stop camera: no more frames, consent withdrawn, the shopper's data erased.
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.click("#emotion-stop")
        page.wait_for_selector("#emotion-on", state="hidden")
        sent = len(frames)
        page.wait_for_timeout(2000)
        shot(page, "5-stopped")
        assert len(frames) == sent
        deadline = time.monotonic() + 30
        while EmotionObservation.objects.exists() or ReactionEvent.objects.exists():
            assert time.monotonic() < deadline, "emotion data not erased"
            time.sleep(0.5)


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
