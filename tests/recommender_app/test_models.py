"""Model versions on disk: training, publishing, reloading, and the popularity fallback."""

import json
import logging
import uuid

import pytest
from django.core.management import call_command

from recommender import store
from recommender.services import Owner, recommend
from recommender.store import current_model
from recommender.tasks import train_recommender
from recommender.training import train_and_publish

from .conftest import react

pytestmark = pytest.mark.django_db


def popularity_order(shop) -> list[int]:
    seen = {p.pk for p in (shop.audio[0], shop.audio[1], shop.books[0], shop.books[1])}
    return [p.pk for p in shop.audio + shop.books if p.pk not in seen]


def test_command_publishes_a_version_with_its_metrics(shop, settings, capsys):
    call_command("train_recommender")
    pointer = json.loads((settings.RECOMMENDER_MODEL_DIR / store.POINTER).read_text())
    metrics = json.loads((settings.RECOMMENDER_MODEL_DIR / f"model-{pointer['version']}.json").read_text())
    assert metrics["users"] == 41 and metrics["items"] == 16
    assert metrics["blend"]["source"].startswith("prior")  # nobody reacted yet
    selection = metrics["selection"]
    assert selection["split"] == "time" and selection["validation_users"] > 0
    candidates = {trial["engine"]["kind"] for trial in selection["candidates"]}
    assert {"popularity", "ease", "als", "bpr", "knn"} <= candidates
    popularity = next(t for t in selection["candidates"] if t["engine"]["kind"] == "popularity")
    chosen = next(t for t in selection["candidates"] if t["engine"] == selection["engine"])
    assert chosen["ndcg"] == max(t.get("ndcg", 0) for t in selection["candidates"]) > popularity["ndcg"]
    assert metrics["engine"] == selection["engine"]
    assert current_model().version == pointer["version"]
    assert current_model().engine.spec.to_json() == selection["engine"]
    assert f"Published model {pointer['version']}: {selection['label']}" in capsys.readouterr().out


def test_command_reports_the_metrics_once(shop, settings, capsys, caplog):
    """The demo printed them twice (a log line with the figures, then the whole JSON, now
    hundreds of lines): the command says where they are, ``--json`` prints them."""
    with caplog.at_level(logging.INFO):
        call_command("train_recommender")
    out = capsys.readouterr().out
    version = json.loads((settings.RECOMMENDER_MODEL_DIR / store.POINTER).read_text())["version"]
    assert '"ndcg"' not in out and str(settings.RECOMMENDER_MODEL_DIR / f"model-{version}.json") in out
    assert len([r for r in caplog.records if "Published recommender model" in r.getMessage()]) == 1
    call_command("train_recommender", "--json")
    printed = capsys.readouterr().out
    assert "selection" in json.loads(printed[: printed.rindex("}") + 1])


def test_blend_is_tuned_once_enough_shoppers_reacted(shop, settings):
    settings.RECOMMENDER_MIN_TUNING_USERS = 5
    for n, product in enumerate(shop.audio[:4] + shop.books[:4]):
        for shopper in {i.shopper_id for i in product.interactions.all()}:
            react(shopper, product, happy=5.0 + n)
    _, metrics = train_and_publish()
    assert metrics["blend"]["source"] == "tuned"
    assert "blend" in metrics["validation"] and metrics["blend"]["weight"] >= 0


def test_task_trains_and_keeps_the_newest_versions(shop, settings):
    settings.RECOMMENDER_KEEP_VERSIONS = 2
    versions = [train_recommender.apply().get()["version"] for _ in range(3)]
    kept = sorted(p.name for p in settings.RECOMMENDER_MODEL_DIR.glob("model-*.npz"))
    assert kept == [f"model-{v}.npz" for v in versions[1:]]


def test_processes_reload_when_a_newer_version_appears(shop):
    first, _ = train_and_publish()
    assert current_model().version == first
    second, _ = train_and_publish()
    assert current_model().version == second


def test_training_without_interactions_fails_cleanly(db):
    with pytest.raises(Exception, match="no interactions"):
        call_command("train_recommender")


def test_missing_model_falls_back_to_popularity_with_a_warning(shop, caplog):
    with caplog.at_level(logging.WARNING, logger="recommender.store"):
        page = recommend(shop.subject_owner, 12)
    assert [item.product.pk for item in page.items] == popularity_order(shop)
    assert all(item.reason.startswith("popular in ") for item in page.items)
    assert "No recommender model" in caplog.text


def test_stale_model_falls_back_to_popularity_with_a_warning(shop, settings, caplog):
    train_and_publish()
    settings.RECOMMENDER_MAX_MODEL_AGE_HOURS = 0
    react(shop.subject, shop.books[0], happy=10.0)  # ignored: no blend without a model
    with caplog.at_level(logging.WARNING, logger="recommender.store"):
        page = recommend(shop.subject_owner, 12)
    assert [item.product.pk for item in page.items] == popularity_order(shop)
    assert "is stale" in caplog.text


def test_corrupt_model_is_a_warning_not_a_500(shop, settings, client, caplog):
    version, _ = train_and_publish()
    (settings.RECOMMENDER_MODEL_DIR / f"model-{version}.npz").write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="recommender.store"):
        response = client.get("/api/v1/recommendations/")
        similar = client.get(f"/api/v1/products/{shop.audio[2].pk}/similar/")
    assert response.status_code == 200 and response.json()["results"][0]["reason"].startswith("popular in ")
    assert similar.status_code == 200 and similar.json()["results"][0]["reason"].startswith("similar to ")
    assert "unreadable" in caplog.text


def test_anonymous_storefront_without_model_still_renders(shop, client):
    assert recommend(Owner(None, uuid.uuid4()), 3).items
    assert "Recommended for you" in client.get("/").content.decode()


def test_the_fallback_is_warned_once_and_recovery_is_picked_up(shop, caplog):
    with caplog.at_level(logging.WARNING, logger="recommender.store"):
        for _ in range(3):
            recommend(shop.subject_owner, 3)
    assert caplog.text.count("No recommender model") == 1
    version, _ = train_and_publish()
    assert recommend(shop.subject_owner, 3).items[0].reason.startswith("because you viewed ")
    assert current_model().version == version


def test_hourly_task_refits_the_last_selection_and_nightly_selects_again(shop, settings):
    from recommender.tasks import select_recommender

    nightly = select_recommender.apply().get()
    selected = store.current_metrics(settings.RECOMMENDER_MODEL_DIR)
    hourly = train_recommender.apply().get()
    refitted = store.current_metrics(settings.RECOMMENDER_MODEL_DIR)
    assert hourly["selection"] == nightly["selection"]
    assert refitted["refit_of"] == selected["version"] and set(refitted["seconds"]) == {"training"}
    assert refitted["selection"]["candidates"] == selected["selection"]["candidates"]  # recorded, not rerun
    settings.RECOMMENDER_SELECTION_MAX_AGE_HOURS = 0  # the selection is too old now: select again
    train_recommender.apply().get()
    assert "refit_of" not in store.current_metrics(settings.RECOMMENDER_MODEL_DIR)


def test_named_models_are_published_and_served_beside_the_default(shop, settings):
    settings.RECOMMENDER_NAMED_MODELS = ["ease", "als"]
    _, metrics = train_and_publish()
    assert set(metrics["named_models"]) == {"ease", "als"}
    assert store.published_names(settings.RECOMMENDER_MODEL_DIR) == ["default", "als", "ease"]
    for name in ("ease", "als"):
        served = current_model(name)
        assert served.version == metrics["named_models"][name] and served.engine.spec.kind == name
    assert current_model().engine.spec.to_json() == metrics["selection"]["engine"]
    with pytest.raises(ValueError, match="invalid model name"):
        current_model("../etc")
