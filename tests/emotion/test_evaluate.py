import json
from pathlib import Path

import numpy as np

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
