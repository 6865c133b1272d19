"""The experiment report in Chromium: the demo's simulated experiment renders under the site's CSP,
and a shopper's click on a recommended card is recorded against its list and position."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from recommender import tracking
from recommender.models import Click, ImpressionList
from tests.e2e.conftest import shot
from tests.e2e.test_insights_reports import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_experiment_report_renders_under_the_csp(new_page, console, live_server, django_user_model, make_product):
    for n in range(12):
        make_product(name=f"Thing {n}")
    call_command("simulate_experiment", "--shoppers", "500", stdout=io.StringIO())
    page = new_page()
    login(page, live_server, django_user_model)
    page.goto(f"{live_server.url}{reverse('admin:insights_experimentreport_changelist')}")
    page.click("text=CF vs CF + emotion (SIMULATED traffic)")
    assert "Simulated traffic:" in page.inner_text("#content-main")
    assert page.locator("#content-main svg.rx-chart rect").count() == 6  # 3 metrics × 2 arms, everyone
    assert page.locator("#content-main table.rx-table tbody tr").count() == 12
    shot(page, "experiment-report")
    assert console.csp_violations == []


def test_a_click_on_a_recommended_card_is_recorded(new_page, console, live_server, make_product):
    cache.clear()  # a cold-start list cached by an earlier test names products this database lacks
    for n in range(12):
        make_product(name=f"Thing {n}")
    page = new_page()
    page.goto(f"{live_server.url}/")
    page.locator(".recommendations .product-card a.stretched-link").nth(1).click()
    page.wait_for_load_state()
    tracking.flush()  # the live server's process is this one: its buffer is this buffer
    (click,) = Click.objects.all()
    shown = ImpressionList.objects.get(pk=click.list_id)
    assert click.position == 1 and shown.panel == "home" and shown.shopper_id == click.shopper_id
    assert console.csp_violations == []
