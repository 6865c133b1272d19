"""End-to-end training on a tiny generated dataset (seconds, CPU)."""

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from emotion.ml import train
from emotion.ml.calibrate import apply_temperature
from emotion.ml.inference import EmotionClassifier

REPORT_KEYS = {"accuracy", "macro_f1", "per_class", "confusion", "classes", "n", "model_version"}


def run(tiny_npz: Path, tmp_path: Path, *extra: str) -> None:
    train.main(
        [
            "--data", str(tiny_npz),
            "--test-data", str(tiny_npz),
            "--checkpoint-dir", str(tmp_path / "ckpt"),
            "--out", str(tmp_path / "out"),
            "--benchmark-json", str(tmp_path / "bench" / "eval.json"),
            "--batch-size", "16",
            "--threads", "1",
            *extra,
        ]
    )  # fmt: skip


@pytest.mark.filterwarnings("ignore:TensorFlow already initialised")  # other tests started TF
def test_train_resume_and_ship(tiny_npz: Path, tmp_path: Path) -> None:
    run(tiny_npz, tmp_path, "--epochs", "1", "--no-ship")
    with pytest.raises(SystemExit, match="--resume"):
        run(tiny_npz, tmp_path, "--epochs", "2")
    run(tiny_npz, tmp_path, "--epochs", "2", "--resume", "--tta", "--precision", "float32")

    with (tmp_path / "ckpt" / "metrics.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2"]
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["epoch"] == 2 and state["config"]["epochs"] == 2
    assert state["config"]["precision"] == "float32"

    out = tmp_path / "out"
    model = keras.models.load_model(out / "emotion.keras", compile=False)
    probs = model.predict(np.zeros((2, 48, 48, 1), np.float32), verbose=0)
    assert probs.shape == (2, 7)

    card = json.loads((out / "model_card.json").read_text())
    assert card["architecture"] == "vgg" and card["parameters"] == model.count_params()
    assert card["epochs_run"] == 2 and card["best_epoch"] == state["best_epoch"]
    assert card["data"]["split"]["val"] == 7
    assert card["tflite_agreement"]["top1_agreement"] == 1.0
    assert set(card["test_metrics"]) == {"plain", "tta"} and card["test_data"]["report_uses_tta"]

    report = json.loads((out / "eval_publictest.json").read_text())
    assert set(report) == REPORT_KEYS and report["n"] == 70
    assert report["model_version"] == card["model_version"] + "+tta"
    assert (tmp_path / "bench" / "eval.json").read_text() == (out / "eval_publictest.json").read_text()
    assert (out / "confusion_publictest.png").stat().st_size > 0

    # Each shipped model is calibrated, given a quality threshold and an export chosen on validation.
    assert card["calibration"]["temperature"] > 0 and 0 < card["calibration"]["min_confidence"] < 1
    assert card["calibration"]["ece_after"] <= card["calibration"]["ece_before"] + 1e-9
    assert 0 <= card["quality"]["threshold"] < 1 and "blur 1.5" in card["quality"]["validation"]
    assert card["exports"]["served"] in {"dynamic", "int8"} and set(card["exports"]["variants"]) == {"dynamic", "int8"}
    assert sorted(p.name for p in out.glob("*.tflite")) == ["emotion.tflite"]

    shipped = EmotionClassifier(out, tta=False)  # served through the TFLite export, calibrated
    expected = apply_temperature(probs, card["calibration"]["temperature"])
    tolerance = 1e-4 if card["exports"]["served"] == "dynamic" else 2e-2
    np.testing.assert_allclose(shipped.classify_faces(np.zeros((2, 48, 48), np.uint8)), expected, atol=tolerance)


@pytest.mark.filterwarnings("ignore:TensorFlow already initialised")
def test_weight_average_of_the_last_epochs(tiny_npz: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--swa-epochs"):
        run(tiny_npz, tmp_path, "--epochs", "2", "--swa-epochs", "3")
    run(tiny_npz, tmp_path, "--epochs", "3", "--swa-epochs", "2")

    ckpt = tmp_path / "ckpt"
    state = json.loads((ckpt / "state.json").read_text())
    assert (state["swa_count"], state["swa_first_epoch"]) == (2, 2)
    assert [p.name for p in ckpt.glob("swa-*.npz")] == ["swa-2.npz"]
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    swa = card["swa"]
    assert swa["epochs"] == [2, 3] and swa["best_epoch_val_accuracy"] == state["best_val_acc"]
    assert swa["shipped"] == (swa["val_accuracy"] > state["best_val_acc"])
    assert card["model_version"].startswith("ckpt-swa2-3-" if swa["shipped"] else f"ckpt-e{state['best_epoch']}-")
    with pytest.raises(SystemExit, match="can no longer change"):
        run(tiny_npz, tmp_path, "--epochs", "4", "--resume", "--swa-epochs", "1")


def test_class_weights_favour_rare_classes() -> None:
    labels = np.repeat(np.arange(7), [100, 4, 100, 100, 100, 100, 100])
    weights = train.class_weights(labels, power=0.5)
    assert weights[1] == pytest.approx(5 * weights[0])
    assert weights[labels].mean() == pytest.approx(1)


def test_cpu_flags_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n\n")
    assert train.cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert train.cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("flags", "native"),
    [({"avx2", "fma"}, False), ({"avx512f", "avx512_bf16"}, True), ({"amx_tile", "amx_bf16"}, True)],
)
def test_native_bfloat16_needs_bf16_units(flags: set[str], native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train.tf.config, "list_physical_devices", lambda kind: [])  # CPU only
    assert train.native_bfloat16(frozenset(flags)) is native


def test_resolve_precision() -> None:
    assert train.resolve_precision("auto", native=True) == "bfloat16"
    assert train.resolve_precision("auto", native=False) == "float32"
    assert train.resolve_precision("float32", native=True) == "float32"
    with pytest.warns(UserWarning, match="far slower"):
        assert train.resolve_precision("bfloat16", native=False) == "bfloat16"
