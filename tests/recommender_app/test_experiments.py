"""Impressions, clicks and attribution through real requests; experiments' assignment and serving."""

import html as html_module
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from recommender import experiments, tracking
from recommender.ml import experiments as stats
from recommender.models import Click, Experiment, ImpressionList
from shop.models import Interaction

from .conftest import log, react


def as_shopper(client, shopper) -> None:
    session = client.session
    session["shopper_id"] = str(shopper)
    session.save()


def links(html: str) -> list[str]:
    section = html.split("Recommended for you", 1)[1].split("</section>", 1)[0]
    return [html_module.unescape(h) for h in dict.fromkeys(re.findall(r'href="(/products/[^"]+)"', section))]


def only_list() -> ImpressionList:
    tracking.flush()
    (row,) = ImpressionList.objects.all()
    return row


def test_every_panel_and_the_api_log_a_list(client, trained):
    as_shopper(client, trained.subject)
    client.get("/")
    client.get(trained.audio[2].get_absolute_url())
    body = client.get("/api/v1/recommendations/?limit=3").json()
    client.get(f"/api/v1/products/{trained.books[3].pk}/similar/?limit=2")
    tracking.flush()
    rows = {row.panel: row for row in ImpressionList.objects.all()}
    assert set(rows) == {"home", "product", "api"} and ImpressionList.objects.count() == 4
    home = rows["home"]
    assert home.shopper_id == trained.subject and len(home.items) == 8 and home.variant.startswith("default@")
    assert home.variant.endswith("+emotion") and home.experiment is None and home.context_product_id is None
    assert ImpressionList.objects.get(panel="product").context_product_id == trained.audio[2].pk
    api = ImpressionList.objects.get(pk=body["list_id"])
    assert api.items == [item["id"] for item in body["results"]]
    assert all(f"rl={api.pk}&rp={k}" in item["url"] for k, item in enumerate(body["results"]))


def test_a_refresh_of_the_same_list_is_one_impression(client, trained):
    as_shopper(client, trained.subject)
    client.get("/")
    for _ in range(3):
        client.get("/api/v1/recommendations/panel/?limit=8")  # the panel polling while visible
    row = only_list()
    assert row.shown_count == 4 and row.last_shown_at >= row.first_shown_at
    client.get("/api/v1/recommendations/panel/?limit=8")  # a later batch adds to the same row
    assert only_list().shown_count == 5


def test_a_changed_list_or_an_old_one_is_a_new_impression(client, trained, settings):
    as_shopper(client, trained.subject)
    client.get("/api/v1/recommendations/panel/?limit=8")
    react(trained.subject, trained.books[5], happy=30.0)  # reorders the list
    client.get("/api/v1/recommendations/panel/?limit=8")
    tracking.flush()
    assert ImpressionList.objects.count() == 2
    settings.RECOMMENDER_IMPRESSION_REPEAT_MINUTES = 0  # past the window, the same list counts again
    client.get("/api/v1/recommendations/panel/?limit=8")
    tracking.flush()
    assert ImpressionList.objects.count() == 3


def test_a_refresh_served_by_another_process_is_the_same_impression(db):
    shown = {"shopper_id": uuid.uuid4(), "user_id": None, "panel": "home", "items": [3, 1, 2], "variant": "v"}
    first = tracking.record_list(**shown)
    tracking.discard()  # another process: nothing in its memory, only the shared cache knows the list
    assert tracking.record_list(**shown) == first
    assert tracking.record_list(**(shown | {"items": [1, 3, 2]})) != first


def test_the_buffer_writes_in_batches(client, trained, settings, django_assert_max_num_queries):
    settings.RECOMMENDER_IMPRESSION_BATCH = 5
    for _ in range(4):
        tracking.record_list(shopper_id=uuid.uuid4(), user_id=None, panel="home", items=[1, 2], variant="v")
    assert ImpressionList.objects.count() == 0  # nothing written per request
    with django_assert_max_num_queries(3):  # insert, one update per distinct count, clicks
        tracking.record_list(shopper_id=uuid.uuid4(), user_id=None, panel="home", items=[1, 2], variant="v")
    assert ImpressionList.objects.count() == 5


def test_click_and_cart_are_attributed_within_the_window(client, trained, settings):
    as_shopper(client, trained.subject)
    html = client.get("/").content.decode()
    href = links(html)[2]
    client.get(href)
    tracking.flush()
    row = ImpressionList.objects.get(panel="home")  # the product page clicked to shows its own panel
    (click,) = Click.objects.all()
    assert (click.list_id, click.position, click.shopper_id) == (row.pk, 2, trained.subject)
    product_id = row.items[2]
    client.post(f"/cart/add/{product_id}/", {"quantity": 1})
    other = row.items[3]  # shown but never clicked: its purchase is not attributed
    log(trained.subject, trained.audio[0].__class__.objects.get(pk=other), "purchase", dwell=None)
    lists = {row.pk: row}
    attributed = tracking.attribute(lists, [click])
    assert [(a.list_id, a.position, a.product_id, a.kind) for a in attributed] == [(row.pk, 2, product_id, "cart")]
    Interaction.objects.filter(kind="cart").update(created_at=timezone.now() + timedelta(hours=25))
    assert tracking.attribute(lists, [click]) == []  # outside the 24 h window


def test_a_click_by_someone_else_or_at_a_position_not_shown_counts_nothing(client, trained):
    as_shopper(client, trained.subject)
    href = links(client.get("/").content.decode())[0]
    row = only_list()
    stranger = uuid.uuid4()
    foreign = Click(list_id=row.pk, position=0, shopper_id=stranger)
    beyond = Click(list_id=row.pk, position=50, shopper_id=trained.subject)
    assert tracking.clicked_products({row.pk: row}, [foreign, beyond]) == []
    client.get(href.replace("rl=", "rl=not-a-uuid"))  # a bad link still serves the page, records nothing
    client.get(href.split("&rp=")[0] + "&rp=x")
    tracking.flush()
    assert Click.objects.count() == 0


def start(**fields) -> Experiment:
    defaults = {"name": "CF vs CF + emotion", "panel": "home", "started_at": timezone.now()}
    experiment = Experiment.objects.create(**(defaults | fields))
    experiments.forget_running()
    return experiment


def test_ab_assignment_is_sticky_across_login_and_serves_the_arm(client, trained):
    experiment = start()
    as_shopper(client, trained.subject)
    client.get("/")
    user = get_user_model().objects.create_user("ann", password="pw-123456789")
    client.force_login(user)  # login keeps the session's shopper id, so the arm stays
    client.get("/")
    client.get("/")
    tracking.flush()
    rows = list(ImpressionList.objects.filter(experiment=experiment))
    expected = stats.assign(str(trained.subject), experiment.key, 0.5)
    assert {row.arm for row in rows} == {expected}
    assert client.session["shopper_id"] == str(trained.subject)
    log(trained.subject, trained.books[6], user=user)  # new history after login: a new list, same arm
    client.get("/")
    tracking.flush()
    rows = list(ImpressionList.objects.filter(experiment=experiment).order_by("first_shown_at"))
    assert len(rows) == 2 and {row.arm for row in rows} == {expected} and rows[-1].user_id == user.pk
    emotion = (experiment.arm_a_emotion, experiment.arm_b_emotion)[expected]
    assert all(row.variant.endswith("+emotion") == emotion for row in rows)


def test_ab_split_over_many_shoppers(trained, rf):
    experiment = start(share_b=0.25)
    from shop.services import Shopper

    arms = [experiments.arm_of(experiment, Shopper(uuid.uuid4(), None)) for _ in range(4_000)]
    assert sum(arms) / len(arms) == pytest.approx(0.25, abs=0.03)


def test_interleaving_mixes_both_arms_and_credits_the_contributor(client, trained):
    experiment = start(design=Experiment.Design.INTERLEAVE)
    react(trained.subject, trained.books[5], happy=30.0)  # the emotion arm ranks differently
    as_shopper(client, trained.subject)
    html = client.get("/").content.decode()
    row = only_list()
    assert row.arm is None and len(row.teams) == len(row.items) == 8
    assert abs(row.teams.count(0) - row.teams.count(1)) <= 1
    position = row.teams.index(1)
    client.get(links(html)[position])
    tracking.flush()
    table = experiments.shopper_table(experiment)
    assert list(table.credit_b) == [1.0] and list(table.credit_a) == [0.0]
    assert list(table.triggered) == [True]  # the shopper has emotion data


def test_one_running_experiment_per_panel(trained):
    start()
    start(panel="product")  # another panel is fine
    Experiment.objects.create(name="draft", panel="home")  # not started: fine
    with pytest.raises(IntegrityError):
        start(name="second")


def test_shopper_table_counts_each_click_once_and_attributes_outcomes(client, trained):
    experiment = start()
    as_shopper(client, trained.subject)
    href = links(client.get("/").content.decode())[1]
    client.get(href)
    client.get(href)  # a reload of the same link is not a second click
    tracking.flush()
    row = ImpressionList.objects.get(panel="home")
    client.post(f"/cart/add/{row.items[1]}/", {"quantity": 1})
    table = experiments.shopper_table(experiment)
    assert (table.impressions[0], table.clicks[0], table.carts[0], table.purchases[0]) == (1, 1, 1, 0)
    assert list(table.triggered) == [False]


def test_admin_creates_starts_and_stops_experiments_one_per_panel(admin_client, trained):
    url = reverse("admin:recommender_experiment_changelist")
    for name in ("first", "second"):
        response = admin_client.post(
            reverse("admin:recommender_experiment_add"),
            {"name": name, "panel": "home", "design": "ab", "arm_a_model": "default", "arm_b_model": "default",
             "arm_b_emotion": "on", "share_b": "0.5", "planned_lift": "0.1"},
        )  # fmt: skip
        assert response.status_code == 302
    first, second = Experiment.objects.get(name="first"), Experiment.objects.get(name="second")
    admin_client.post(url, {"action": "start", "_selected_action": [first.pk]})
    response = admin_client.post(url, {"action": "start", "_selected_action": [second.pk]}, follow=True)
    assert "already running on this panel" in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.running and second.started_at is None
    assert experiments.running_experiment("home") == first
    admin_client.post(url, {"action": "stop", "_selected_action": [first.pk]})
    assert experiments.running_experiment("home") is None
    admin_client.post(url, {"action": "start", "_selected_action": [second.pk]})
    second.refresh_from_db()
    assert second.running


def test_admin_refuses_identical_arms_unless_named_aa(admin_client, trained):
    fields = {"panel": "home", "design": "ab", "arm_a_model": "default", "arm_b_model": "default",
              "share_b": "0.5", "planned_lift": "0.1"}  # fmt: skip
    response = admin_client.post(reverse("admin:recommender_experiment_add"), {"name": "same", **fields})
    assert response.status_code == 200 and "Both arms are the same" in response.content.decode()
    response = admin_client.post(reverse("admin:recommender_experiment_add"), {"name": "A/A check", **fields})
    assert response.status_code == 302
