import json
from pathlib import Path

import numpy as np
import pytest

from emotion.ml.evaluate import compute_metrics, confusion_matrix, main, write_report
from emotion.ml.labels import CLASSES
from emotion.ml.tta import predict_proba

REPORT_KEYS = {"accuracy", "macro_f1", "per_class", "confusion", "classes", "n", "model_version"}


def test_confusion_rows_are_true_classes() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]))
    assert matrix[0].tolist()[:2] == [1, 1] and matrix[1].tolist()[:2] == [0, 1]


def test_metrics_on_a_known_case() -> None:
    y_true = np.array([0, 0, 1, 1, 3, 3])
    y_pred = np.array([0, 1, 1, 1, 3, 0])
    report = compute_metrics(y_true, y_pred, "v1")
    assert set(report) == REPORT_KEYS
    assert report["accuracy"] == 4 / 6 and report["n"] == 6 and report["model_version"] == "v1"
    assert report["classes"] == list(CLASSES)
    angry = report["per_class"]["angry"]
    assert (angry["precision"], angry["recall"], angry["support"]) == (0.5, 0.5, 2)
    assert report["per_class"]["disgust"]["f1"] == 0.8
    assert report["per_class"]["fear"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert np.isclose(report["macro_f1"], np.mean([0.5, 0.8, 0, 2 / 3, 0, 0, 0]))


def test_report_files(tmp_path: Path) -> None:
    report = compute_metrics(np.array([0, 1]), np.array([0, 1]), "v1")
    write_report(report, tmp_path / "r" / "eval.json", tmp_path / "r" / "confusion.png")
    assert json.loads((tmp_path / "r" / "eval.json").read_text()) == report
    assert (tmp_path / "r" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tta_averages_flipped_shifted_and_zoomed_views() -> None:
    x = np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32)
    calls: list[np.ndarray] = []

    def predict(batch: np.ndarray) -> np.ndarray:
        calls.append(batch)
        return np.tile(np.eye(7, dtype=np.float32)[len(calls) % 2], (len(batch), 1))

    probs = predict_proba(predict, x, tta=True)
    assert len(calls) == 14 and all(c.shape == x.shape for c in calls)
    np.testing.assert_allclose(probs[:, :2], 0.5)
    np.testing.assert_array_equal(calls[5], x[:, :, ::-1])
    assert predict_proba(predict, x).shape == (4, 7)


def test_tta_zoomed_views_scale_the_face_about_its_centre() -> None:
    yy, xx = np.mgrid[:48, :48]
    disk = ((yy - 23.5) ** 2 + (xx - 23.5) ** 2 <= 12**2).astype(np.float32)[None, :, :, None]
    calls: list[np.ndarray] = []
    predict_proba(lambda b: calls.append(b) or np.zeros((len(b), 7), np.float32), disk, tta=True)
    zoom_in, zoom_out = calls[10], calls[12]  # after the 10 shifted views: 1.08, then 0.92
    assert zoom_in.shape == zoom_out.shape == disk.shape
    assert zoom_in.sum() > disk.sum() * 1.1 and zoom_out.sum() < disk.sum() * 0.9
    np.testing.assert_allclose(calls[11], zoom_in[:, :, ::-1], atol=1e-6)  # the flipped face, zoomed
    assert zoom_in[0, 23, 23, 0] == zoom_out[0, 23, 23, 0] == 1.0


def test_cli_evaluates_a_saved_model(tmp_path: Path, tiny_npz: Path, random_model_dir: Path) -> None:
    main(
        [
            "--model",
            str(random_model_dir / "emotion.keras"),
            "--data",
            str(tiny_npz),
            "--json",
            str(tmp_path / "e.json"),
            "--png",
            str(tmp_path / "e.png"),
        ]
    )
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report) == REPORT_KEYS and report["n"] == 70
    assert report["model_version"].startswith("sha256-")
    assert (tmp_path / "e.png").exists()


def _hand_written_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """The formulas the report used before scikit-learn computed it (kept here as the reference)."""
    matrix = np.zeros((7, 7), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    tp = np.diag(matrix).astype(np.float64)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"matrix": matrix, "accuracy": tp.sum() / max(1, len(y_true)), "p": precision, "r": recall, "f1": f1}


@pytest.mark.parametrize("seed", range(6))
def test_metrics_agree_with_the_hand_written_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    y_true = rng.choice(7, n, p=rng.dirichlet(np.ones(7) * 0.5))  # skewed: some classes absent
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(7, n, p=rng.dirichlet(np.ones(7) * 0.5)))
    report, reference = compute_metrics(y_true, y_pred, "v"), _hand_written_metrics(y_true, y_pred)
    assert report["confusion"] == reference["matrix"].tolist()
    assert abs(report["accuracy"] - reference["accuracy"]) < 1e-9
    assert abs(report["macro_f1"] - reference["f1"].mean()) < 1e-9
    for i, name in enumerate(CLASSES):
        row = report["per_class"][name]
        assert (
            max(abs(row[k] - reference[k2][i]) for k, k2 in (("precision", "p"), ("recall", "r"), ("f1", "f1"))) < 1e-9
        )
        assert row["support"] == reference["matrix"][i].sum()
    assert set(report) == REPORT_KEYS


def test_metrics_reproduce_the_shipped_evaluation_report() -> None:
    """The committed PublicTest report (hand-written metrics then) recomputed from its own confusion matrix."""
    committed = json.loads((Path(__file__).resolve().parents[2] / "emotion/model/eval_publictest.json").read_text())
    matrix = np.array(committed["confusion"])
    y_true = np.repeat(np.repeat(np.arange(7), 7), matrix.ravel())
    y_pred = np.repeat(np.tile(np.arange(7), 7), matrix.ravel())
    report = compute_metrics(y_true, y_pred, committed["model_version"])
    assert report["confusion"] == committed["confusion"] and report["n"] == committed["n"]
    assert abs(report["accuracy"] - committed["accuracy"]) < 1e-9
    assert abs(report["macro_f1"] - committed["macro_f1"]) < 1e-9
    for name, row in committed["per_class"].items():
        assert all(abs(report["per_class"][name][key] - value) < 1e-9 for key, value in row.items())
