"""A shopper's journey in a real browser (Chromium driven by Playwright) with a fake webcam.

Live Django server, real Redis broker, a real Celery worker process and PostgreSQL. The
camera shows scikit-image's public-domain astronaut. Screenshots of each step are saved
under test-artifacts/. The browser console is watched throughout: no CSP violation.
"""

import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from emotion.models import EmotionObservation, ReactionEvent
from shop.models import Product
from tests.e2e.conftest import answer_offer, open_camera_settings, shot
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def panel_reasons(page, live_server) -> list[str]:
    page.goto(f"{live_server.url}/")
    return page.locator(".recommendations .recommendation-reason").all_inner_texts()


def test_consent_capture_badge_recommendations_analytics_and_withdrawal(
    new_page, console, live_server, tmp_path, django_user_model, settings
):
    call_command("seed_demo", products=60, shoppers=60)
    call_command("train_recommender")
    product = Product.objects.order_by("pk").first()
    page = new_page()
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)

    with celery_worker(tmp_path, queues="emotion", pool="prefork"):
        # 1. Declining: the shop works and no frame is ever sent.
        page.goto(f"{live_server.url}/")
        answer_offer(page, "#consent-decline")
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_timeout(2000)
        assert frames == []
        assert page.is_hidden("#emotion-offer")
        shot(page, "1-declined")
        before = panel_reasons(page, live_server)

        # 2. Accepting from the footer's camera settings on a product page: capture starts,
        #    the badge shows the emotion the server saw, reaction events are stored.
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        open_camera_settings(page)
        page.click("#consent-accept")
        # The footer link scrolled the product off screen: consent given, the camera stays off.
        page.wait_for_selector("#emotion-standby:not([hidden])")
        assert page.is_hidden("#emotion-on")
        # Come back to the product: the camera opens.
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.wait_for_selector("#emotion-on:not([hidden])")
        page.wait_for_function("() => document.getElementById('emotion-badge').dataset.label", timeout=60_000)
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
        staff = new_page()
        staff.goto(f"{live_server.url}/admin/login/")
        staff.fill("#id_username", "staff")
        staff.fill("#id_password", "a staff pass phrase")
        staff.click("input[type=submit]")
        staff.goto(f"{live_server.url}{reverse('admin:insights_productreaction_product', args=[product.pk])}")
        assert product.name in staff.content()
        # One shopper is fewer than K (5) distinct viewers: the page protects them ...
        assert "Too few viewers" in staff.inner_text("main")
        # ... and shows their reaction once K is 1.
        settings.INSIGHTS_MIN_VIEWERS = 1
        staff.reload()
        assert label in staff.inner_text("main") and "Too few viewers" not in staff.inner_text("main")
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
    # No page of the journey (shop pages, the camera's scripts, the admin analytics) broke the CSP.
    assert console.csp_violations == [], console.csp_violations
