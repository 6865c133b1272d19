"""The admin pages: who may see them, what they show, filters and CSV exports."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from emotion.ml.labels import CLASSES

from .conftest import NOON, PERIOD

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("admin:insights_productreaction_changelist")
QUERY = {"from": PERIOD.start.isoformat(), "to": PERIOD.end.isoformat()}


def product_url(product, name: str = "product") -> str:
    return reverse(f"admin:insights_productreaction_{name}", args=[product.pk])


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def reactions(shop, make_product, other_category):
    loved, hated = make_product(name="Loved Lamp"), make_product(name="Hated Hat", category=other_category)
    viewer = shop.shopper()
    shop.react(shop.view(loved, viewer), "happy", 10.0)
    shop.react(shop.view(loved, viewer, at=NOON - timedelta(days=1)), "surprise", 4.0)
    shop.react(shop.view(hated, viewer), "disgust", 8.0)
    return loved, hated


def test_anonymous_visitors_are_sent_to_the_login_page(client, product):
    for url in (OVERVIEW, product_url(product), reverse("admin:insights_productreaction_export")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_shoppers_without_staff_status_are_sent_to_the_login_page(client, django_user_model, product):
    client.force_login(django_user_model.objects.create_user("shopper", password="x" * 12))
    response = client.get(product_url(product))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_view_permission_get_403(client, django_user_model, product):
    client.force_login(django_user_model.objects.create_user("clerk", password="x" * 12, is_staff=True))
    assert client.get(OVERVIEW).status_code == 403
    assert client.get(product_url(product, "product_export")).status_code == 403


def test_staff_with_the_view_permission_see_both_pages(client, staff_viewer, reactions):
    loved, _ = reactions
    client.force_login(staff_viewer)
    assert client.get(OVERVIEW, QUERY).status_code == 200
    response = client.get(product_url(loved), QUERY)
    assert response.status_code == 200
    assert b"Reactions to Loved Lamp" in response.content


def test_the_section_is_listed_in_the_admin_index(admin_client):
    assert OVERVIEW.encode() in admin_client.get(reverse("admin:index")).content


def test_overview_shows_rankings_categories_and_the_model(admin_client, reactions, settings, tmp_path):
    settings.EMOTION_MODEL_DIR = settings.BASE_DIR = tmp_path
    loved, _ = reactions
    response = admin_client.get(OVERVIEW, QUERY)
    content = response.content.decode()
    data = response.context["overview"]
    assert [p.name for p in data.by_delight] == ["Loved Lamp"]
    assert [p.name for p in data.by_dislike] == ["Hated Hat"]
    assert f"{product_url(loved)}?from={QUERY['from']}" in content
    assert "<polyline" in content and "Books" in content
    assert content.count("classifier accuracy unknown") == 1  # once per page: every figure is that model's


def test_category_filter(admin_client, reactions, other_category):
    response = admin_client.get(OVERVIEW, {**QUERY, "category": other_category.pk})
    assert [p.name for p in response.context["overview"].by_dislike] == ["Hated Hat"]
    assert response.context["overview"].by_delight == []


def test_bad_filters_show_the_reason_and_the_default_period(admin_client, product):
    response = admin_client.get(product_url(product), {"from": "2026-02-30"})
    assert response.status_code == 400
    assert b"&#x27;from&#x27; must be a date" in response.content
    assert response.context["period"].days == 30


def test_product_page_shows_figures_as_chart_and_table(admin_client, reactions):
    loved, _ = reactions
    response = admin_client.get(product_url(loved), QUERY)
    report = response.context["report"]
    assert report.mix.seconds == pytest.approx(14.0)
    content = response.content.decode()
    assert content.count("<rect") >= 3 and "Timeline as a table" in content
    assert "Longest positive reactions" in content and "Conversion by dominant reaction" in content


def test_product_page_hourly(admin_client, reactions):
    loved, _ = reactions
    response = admin_client.get(product_url(loved), {"from": NOON.date(), "to": NOON.date(), "granularity": "hour"})
    assert response.status_code == 200 and len(response.context["report"].timeline) == 24


def test_unknown_product_is_404(admin_client, db):
    assert admin_client.get(reverse("admin:insights_productreaction_product", args=[999_999])).status_code == 404


def test_overview_csv_holds_aggregates_per_product(admin_client, reactions):
    response = admin_client.get(reverse("admin:insights_productreaction_export"), QUERY)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *body = rows(response)
    assert header[:3] == ["product_id", "product", "category"] and "shopper_id" not in header
    assert header[-2:] == ["model_version", "model_accuracy"]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_name) == {"Loved Lamp", "Hated Hat"}
    assert float(by_name["Loved Lamp"]["happy_seconds"]) == 10.0
    assert float(by_name["Loved Lamp"]["seconds"]) == 14.0 and by_name["Loved Lamp"]["events"] == "2"
    assert float(by_name["Hated Hat"]["valence"]) == -1.0


def test_product_csv_has_one_row_per_day(admin_client, reactions):
    loved, _ = reactions
    header, *body = rows(admin_client.get(product_url(loved, "product_export"), QUERY))
    assert header == [
        "day",
        *(f"{e}_seconds" for e in CLASSES),
        "seconds",
        "valence",
        "model_version",
        "model_accuracy",
    ]
    assert len(body) == PERIOD.days
    assert body[-1][0] == NOON.date().isoformat() and float(body[-1][header.index("happy_seconds")]) == 10.0
    assert sum(float(row[header.index("seconds")]) for row in body) == pytest.approx(14.0)


def test_csv_export_refuses_a_bad_period(admin_client, db):
    response = admin_client.get(reverse("admin:insights_productreaction_export"), {"to": "soon"})
    assert response.status_code == 400 and b"'to' must be a date" in response.content


def test_csv_neutralises_cells_a_spreadsheet_would_run(admin_client, shop, make_product, category):
    """CSV injection: text cells starting with = + - @ get a leading apostrophe; numbers stay numbers."""
    category.name = "@SUM(1+1)"
    category.save()
    names = ['=HYPERLINK("http://evil.example","click")', "+cmd", "-2 for 1", "Plain - Lamp"]
    viewer = shop.shopper()
    for name in names:
        shop.react(shop.view(make_product(name=name, category=category), viewer), "disgust", 3.0)

    header, *body = rows(admin_client.get(reverse("admin:insights_productreaction_export"), QUERY))

    exported = {row[1] for row in body}
    assert exported == {"'" + n for n in names[:3]} | {"Plain - Lamp"}
    assert {row[2] for row in body} == {"'@SUM(1+1)"}
    assert {row[header.index("valence")] for row in body} == {"-1.0"}


def test_csv_bytes_are_those_of_the_csv_module(admin_client, reactions, monkeypatch):
    """The pandas export writes what ``csv.writer`` wrote: CRLF, minimal quoting, repr floats, header once."""
    from insights import services

    monkeypatch.setattr(services, "CSV_CHUNK", 1)  # one product per chunk: the header must still come once
    loved, hated = reactions
    text = b"".join(admin_client.get(reverse("admin:insights_productreaction_export"), QUERY).streaming_content)
    lines = text.decode().split("\r\n")
    model = services.model_info()
    accuracy = "" if model.accuracy is None else f"{model.accuracy:.4f}"
    assert lines[0].startswith("product_id,product,category,angry_seconds,") and lines[-1] == ""
    assert len(lines) == 4 and sum(line.startswith("product_id") for line in lines) == 1
    assert lines[1] == (
        f"{loved.pk},Loved Lamp,{loved.category.name},0.0,0.0,0.0,10.0,0.0,4.0,0.0,14.0,2,12.0,0.0,0.8571,"
        f"{model.version},{accuracy}"
    )
    assert lines[2].startswith(f"{hated.pk},Hated Hat,") and lines[2].endswith(f",-1.0,{model.version},{accuracy}")


def test_csv_of_an_empty_period_is_the_header_alone(admin_client, db):
    response = admin_client.get(
        reverse("admin:insights_productreaction_export"), {"from": "2020-01-01", "to": "2020-01-02"}
    )
    assert len(rows(response)) == 1


@pytest.mark.parametrize(
    "query",
    [{"to": "9999-12-31"}, {"to": "0001-01-05"}, {"from": "0001-01-01", "to": "0001-01-05"}, {"from": "9999-12-31"}],
)
def test_dates_out_of_range_are_a_400_with_a_reason_not_a_500(client, staff_viewer, product, query):
    client.force_login(staff_viewer)
    for url in (OVERVIEW, product_url(product)):
        response = client.get(url, query)
        assert response.status_code == 400
        assert "must lie between" in response.content.decode()
    assert client.get(product_url(product, "product_export"), query).status_code == 400


def test_a_search_with_a_nul_character_is_answered(client, staff_viewer, product):
    client.force_login(staff_viewer)
    response = client.get(OVERVIEW, {"q": "Aurora\x00"})
    assert response.status_code == 200
    assert product.name in response.content.decode()


def test_the_reactions_api_refuses_out_of_range_dates_with_json(client, staff_viewer, product):
    client.force_login(staff_viewer)
    for to in ("9999-12-31", "0001-01-05"):
        response = client.get(f"/api/v1/products/{product.pk}/reactions/", {"to": to})
        assert response.status_code == 400 and "must lie between" in response.json()["error"]
