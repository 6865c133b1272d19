"""Distillation: the loss, the soft-label cache and a distilled training run."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from emotion.ml import distill, train
from emotion.ml.labels import NUM_CLASSES


def _targets(labels: np.ndarray, teacher: np.ndarray) -> np.ndarray:
    return np.concatenate([np.eye(NUM_CLASSES)[labels], teacher], axis=1).astype(np.float32)


def test_loss_is_the_mix_of_soft_kl_and_smoothed_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    student = rng.dirichlet(np.ones(NUM_CLASSES), 5).astype(np.float32)
    teacher = rng.dirichlet(np.ones(NUM_CLASSES), 5).astype(np.float32)
    labels = np.arange(5)
    t, alpha, ls = 3.0, 0.6, 0.1
    loss = distill.DistillationLoss(t, alpha, ls, reduction=None)(_targets(labels, teacher), student)

    hard = np.eye(NUM_CLASSES)[labels] * (1 - ls) + ls / NUM_CLASSES
    ce = -(hard * np.log(student)).sum(1)
    tt, st = distill.soften(teacher, t), distill.soften(student, t)
    kl = (tt * (np.log(tt) - np.log(st))).sum(1)
    np.testing.assert_allclose(np.asarray(loss), alpha * t * t * kl + (1 - alpha) * ce, rtol=1e-4)


def test_student_equal_to_teacher_has_no_soft_loss() -> None:
    probs = np.random.default_rng(1).dirichlet(np.ones(NUM_CLASSES), 4).astype(np.float32)
    loss = distill.DistillationLoss(2.0, 1.0, 0.0, reduction=None)(_targets(np.zeros(4, int), probs), probs)
    np.testing.assert_allclose(np.asarray(loss), 0.0, atol=1e-5)


def test_soften_flattens_and_keeps_the_order() -> None:
    probs = np.array([[0.7, 0.2, 0.05, 0.02, 0.01, 0.01, 0.01]], np.float32)
    soft = distill.soften(probs, 4.0)
    assert soft.argmax() == 0 and soft.max() < probs.max() and np.isclose(soft.sum(), 1)
    np.testing.assert_allclose(distill.soften(probs, 1.0), probs / probs.sum(), rtol=1e-5)


def test_hard_label_accuracy_reads_the_label_part() -> None:
    teacher = np.tile(np.eye(NUM_CLASSES)[6], (3, 1))  # a teacher that disagrees
    pred = np.eye(NUM_CLASSES)[[0, 1, 6]]
    acc = distill.hard_label_accuracy(_targets(np.array([0, 1, 2]), teacher), pred)
    assert list(np.asarray(acc)) == [1.0, 1.0, 0.0]


def test_soft_labels_are_cached_per_teacher(tmp_path: Path, random_model_dir: Path) -> None:
    x = np.random.default_rng(2).random((6, 48, 48, 1)).astype(np.float32)
    idx = np.arange(6)
    teacher = random_model_dir / "emotion.keras"
    first = distill.cached_soft_labels(tmp_path, teacher, x, idx, tta=False)
    assert first.shape == (6, NUM_CLASSES) and np.allclose(first.sum(1), 1, atol=1e-5)
    # Same key: read back from the cache, not recomputed (different inputs prove it).
    again = distill.cached_soft_labels(tmp_path, teacher, x * 0, idx, tta=False)
    np.testing.assert_array_equal(first, again)
    # Another split (or teacher, or TTA setting) invalidates the cache.
    other = distill.cached_soft_labels(tmp_path, teacher, x * 0, idx + 1, tta=False)
    assert not np.array_equal(first, other)


@pytest.mark.filterwarnings("ignore:TensorFlow already initialised")
def test_distilled_degraded_run_ships_with_its_card(tiny_npz: Path, tmp_path: Path, random_model_dir: Path) -> None:
    teacher = random_model_dir / "emotion.keras"
    args = [
        "--data", str(tiny_npz), "--checkpoint-dir", str(tmp_path / "ckpt"), "--out", str(tmp_path / "out"),
        "--batch-size", "16", "--threads", "1", "--epochs", "2", "--precision", "float32",
        "--teacher", str(teacher), "--teacher-plain", "--kd-temperature", "3", "--kd-alpha", "0.5",
        "--degrade-prob", "0.5", "--erase-prob", "0.1",
    ]  # fmt: skip
    train.main(args)
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["config"]["teacher"] == str(teacher) and state["config"]["augment"]["degrade_prob"] == 0.5
    assert all(np.isfinite(row["loss"]) for row in state["history"])
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    assert card["distillation"]["temperature"] == 3 and card["distillation"]["alpha"] == 0.5
    assert not card["distillation"]["teacher_tta"]
    assert (tmp_path / "ckpt" / distill.SOFT_LABELS_FILE).is_file()
    keras.models.load_model(tmp_path / "out" / "emotion.keras", compile=False)
