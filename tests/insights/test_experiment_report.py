"""The experiment report in the admin: SVG and table, warnings, CSV, permissions; the demo's simulated run."""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from recommender.experiments import SIMULATED_NAME
from recommender.models import Experiment, ImpressionList


@pytest.fixture
def simulated(db, make_product):
    for n in range(12):
        make_product(name=f"Thing {n}")
    call_command("simulate_experiment", "--shoppers", "3000", "--lift", "1.0", stdout=io.StringIO())
    return Experiment.objects.get(simulated=True)


def test_simulated_experiment_is_marked_and_stopped(simulated):
    assert simulated.name == SIMULATED_NAME and simulated.status == "stopped"
    call_command("simulate_experiment", "--once", stdout=io.StringIO())
    assert Experiment.objects.filter(simulated=True).count() == 1  # --once adds nothing


def test_report_page_shows_arms_intervals_and_the_simulated_banner(admin_client, simulated):
    response = admin_client.get(reverse("admin:insights_experimentreport_report", args=[simulated.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    main = html.split('id="content-main"', 1)[1]
    assert "Simulated traffic:" in main and "<svg" in main and "<script" not in main and "style=" not in main
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script anywhere (the CSP forbids it)
    assert "Click-through per shopper" in html and "Add-to-cart per impression" in html
    assert "Shoppers with emotion data (triggered)" in html
    report = response.context["report"]
    assert report.everyone.total_shoppers == 3000 and sum(report.everyone.impressions) == ImpressionList.objects.count()
    clicks = report.everyone.metrics[0].per_shopper
    assert clicks.lift > 0.2 and clicks.p_value < 0.05  # the planted doubling of click propensity is found
    listing = admin_client.get(reverse("admin:insights_experimentreport_changelist")).content.decode()
    assert SIMULATED_NAME in listing and "(simulated)" in listing


def test_report_warns_before_the_horizon(admin_client, simulated):
    Experiment.objects.filter(pk=simulated.pk).update(horizon_shoppers=100_000)
    html = admin_client.get(reverse("admin:insights_experimentreport_report", args=[simulated.pk])).content.decode()
    assert "Before the planned horizon:" in html and "97000 more needed" in html


def test_csv_export_has_every_row_and_neutralises_formulas(admin_client, simulated):
    Experiment.objects.filter(pk=simulated.pk).update(name="=HYPERLINK(1)")
    response = admin_client.get(reverse("admin:insights_experimentreport_export", args=[simulated.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2 * 3 * 2  # segments × metrics × units
    assert all(row["experiment"] == "'=HYPERLINK(1)" for row in rows)
    assert {row["metric"] for row in rows} == {"clicks", "carts", "purchases"}


def test_interleaving_report_shows_the_preference(admin_client, db):
    experiment = Experiment.objects.create(
        name="interleaved", panel="home", design=Experiment.Design.INTERLEAVE, started_at=timezone.now()
    )
    html = admin_client.get(reverse("admin:insights_experimentreport_report", args=[experiment.pk])).content.decode()
    assert "Interleaving preference for B" in html


def test_staff_without_the_permission_cannot_read_it(client, simulated):
    user = get_user_model().objects.create_user("staff", password="pw-123456789", is_staff=True)
    client.force_login(user)
    response = client.get(reverse("admin:insights_experimentreport_report", args=[simulated.pk]))
    assert response.status_code == 403
