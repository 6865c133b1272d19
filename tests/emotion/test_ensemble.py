"""Ensembling: weight fitting on the validation split, and shipping the averaged model."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from emotion.ml import ensemble
from emotion.ml.calibrate import apply_temperature
from emotion.ml.export import reference_faces
from emotion.ml.inference import EmotionClassifier
from emotion.ml.models import build_model
from emotion.ml.preprocess import to_network_input
from emotion.ml.train import lineage_seconds


def one_hot(indices: list[int], confidence: float) -> np.ndarray:
    probs = np.full((len(indices), 7), (1 - confidence) / 6, np.float32)
    probs[np.arange(len(indices)), indices] = confidence
    return probs


def test_weights_go_to_the_member_that_is_right() -> None:
    labels = np.array([0, 1, 2, 3])
    right, wrong = one_hot([0, 1, 2, 3], 0.9), one_hot([4, 4, 4, 4], 0.9)
    assert ensemble.fit_weights([wrong, right], labels) == [0.0, 1.0]


def test_weights_combine_complementary_members() -> None:
    labels = np.array([0, 1, 2, 3])
    first = np.concatenate([one_hot([0, 1], 0.9), one_hot([5, 5], 0.3)])  # right and sure on the first half
    second = np.concatenate([one_hot([5, 5], 0.3), one_hot([2, 3], 0.9)])  # right and sure on the second half
    weights = ensemble.fit_weights([first, second], labels)
    assert all(w > 0 for w in weights) and sum(weights) == pytest.approx(1)
    mixed = weights[0] * first + weights[1] * second
    assert (mixed.argmax(1) == labels).all()


def save_member(directory: Path, arch: str, seed: int = 20240521) -> Path:
    """An untrained member with the card fields an ensemble reads."""
    directory.mkdir()
    keras.utils.set_random_seed(len(arch))
    build_model(arch).save(directory / "emotion.keras")
    card = {
        "model_version": f"{arch}-test",
        "architecture": arch,
        "data": {"split": {"fraction": 0.1, "seed": seed}},
        "training_seconds": 10.0,
    }
    (directory / "model_card.json").write_text(json.dumps(card))
    return directory / "emotion.keras"


@pytest.mark.filterwarnings("ignore:TensorFlow already initialised")
def test_ensemble_ships_the_weighted_mean_of_its_members(tiny_npz: Path, tmp_path: Path) -> None:
    members = [save_member(tmp_path / "a", "vgg"), save_member(tmp_path / "b", "resnet")]
    out = tmp_path / "out"
    args = ["--data", str(tiny_npz), "--test-data", str(tiny_npz), "--out", str(out), "--threads", "1", "--tta"]
    ensemble.main([arg for path in members for arg in ("--member", str(path))] + args)

    card = json.loads((out / "model_card.json").read_text())
    weights = [m["weight"] for m in card["members"]]
    assert card["architecture"] == "ensemble" and sum(weights) == pytest.approx(1)
    assert [m["model_version"] for m in card["members"]] == ["vgg-test", "resnet-test"]
    assert card["training_seconds"] == 20.0 and set(card["test_metrics"]) == {"plain", "tta"}

    x = to_network_input(reference_faces())
    expected = sum(
        w * keras.models.load_model(p, compile=False).predict(x, verbose=0)
        for w, p in zip(weights, members, strict=True)
    )
    shipped = keras.models.load_model(out / "emotion.keras", compile=False)
    np.testing.assert_allclose(shipped.predict(x, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(card["tflite_agreement"]["reference"]["keras"], expected, atol=1e-5)
    served = EmotionClassifier(out, tta=False).classify_faces(reference_faces())
    expected = apply_temperature(
        np.array(card["tflite_agreement"]["reference"]["tflite"]), card["calibration"]["temperature"]
    )
    np.testing.assert_allclose(served, expected, atol=1e-5)


@pytest.mark.filterwarnings("ignore:TensorFlow already initialised")
def test_ensemble_refuses_members_selected_on_other_splits(tiny_npz: Path, tmp_path: Path) -> None:
    members = [save_member(tmp_path / "a", "vgg"), save_member(tmp_path / "b", "vgg", seed=7)]
    with pytest.raises(SystemExit, match="different validation splits"):
        ensemble.main(["--member", str(members[0]), "--member", str(members[1]), "--data", str(tiny_npz)])
    with pytest.raises(SystemExit, match="at least two"):
        ensemble.main(["--member", str(members[0]), "--data", str(tiny_npz)])
    with pytest.raises(SystemExit, match="no such model file"):
        ensemble.main(["--member", str(members[0]), "--member", str(tmp_path / "nope.keras"), "--data", "x.npz"])


def test_training_time_counts_shared_ancestors_once() -> None:
    first = {"model_version": "r1", "training_seconds": 100.0}
    second = {"model_version": "r2", "training_seconds": 50.0, "init_from": {**first, "init_from": None}}
    third = {
        "model_version": "r3",
        "training_seconds": 20.0,
        "init_from": {"model_version": "r2", "training_seconds": 150.0, "init_from": second["init_from"]},
    }
    assert lineage_seconds(third) == 170.0
    assert lineage_seconds(second, third) == 170.0  # snapshots of one lineage
    assert lineage_seconds(first, {"model_version": "other", "training_seconds": 30.0}) == 130.0
