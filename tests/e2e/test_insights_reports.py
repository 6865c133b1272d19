"""The staff reports in Chromium: viewing-time chart, segments, data quality, comparison and the
small-count rule render under the site's Content-Security-Policy."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import shot
from tests.insights.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, django_user_model) -> None:
    django_user_model.objects.create_superuser("analyst", "analyst@example.com", "an analyst pass phrase")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "an analyst pass phrase")
    page.click("input[type=submit]")


def test_new_reports_render_and_protect_small_counts(new_page, console, live_server, django_user_model, make_product):
    shop = Shop()
    popular, niche = make_product(name="Popular Lamp"), make_product(name="Niche Vase")
    now = timezone.now() - timedelta(hours=1)
    for i in range(6):
        view = shop.view(popular, shop.shopper(consent_at=now - timedelta(days=1)), at=now, dwell=8.0)
        shop.react(view, "happy" if i % 3 else "surprise", 3.0)
    shop.react(shop.view(niche, shop.shopper(consent_at=now - timedelta(days=1)), at=now), "sad", 2.0)
    page = new_page()
    login(page, live_server, django_user_model)

    page.goto(f"{live_server.url}{reverse('admin:insights_productreaction_product', args=[popular.pk])}")
    assert page.locator("#rx-viewing svg polyline").count() >= 2  # happy and surprise lines
    assert page.locator("#rx-segments tbody tr").count() == 4
    assert "No camera frames" in page.inner_text("#rx-quality")
    assert (
        page.locator("text=Model ").count() >= 1
        and page.locator(".rx-model", has_text="classifier accuracy").count() == 1
    )
    shot(page, "insights-product")

    page.click("text=compare")
    page.fill("#rx-b", str(niche.pk))
    page.click("input[type=submit][value=Apply]")
    table = page.inner_text("#rx-compare").lower()  # the admin's table headers are upper-cased
    assert "popular lamp" in table and "niche vase" in table and "too few viewers" in table
    shot(page, "insights-compare")

    page.goto(f"{live_server.url}{reverse('admin:insights_productreaction_product', args=[niche.pk])}")
    assert "Too few viewers" in page.inner_text("#content-main")
    assert page.locator("#rx-viewing").count() == 0

    assert console.csp_violations == []
