"""Temperature scaling, ECE and the confidence cut on synthetic predictions with known calibration."""

import numpy as np

from emotion.ml import calibrate


def overconfident(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Predictions whose logits were multiplied by 2.5: calibrated again at temperature 2.5."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.2, (n, 7))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in true_p])
    sharp = np.exp(2.5 * logits)
    return sharp / sharp.sum(1, keepdims=True), labels


def test_temperature_recovers_the_sharpening() -> None:
    probs, labels = overconfident()
    temperature = calibrate.fit_temperature(probs, labels)
    assert 2.2 < temperature < 2.8


def test_calibration_lowers_ece_and_keeps_the_ranking() -> None:
    probs, labels = overconfident()
    result = calibrate.calibrate(probs, labels)
    assert result["ece_after"] < result["ece_before"] / 3
    calibrated = calibrate.apply_temperature(probs, result["temperature"])
    assert np.array_equal(calibrated.argmax(1), probs.argmax(1))
    assert np.allclose(calibrated.sum(1), 1, atol=1e-5)


def test_ece_of_perfectly_calibrated_bins_is_zero() -> None:
    probs = np.tile([[0.7, 0.3, 0, 0, 0, 0, 0]], (10, 1))
    labels = np.array([0] * 7 + [1] * 3)
    assert calibrate.expected_calibration_error(probs, labels) < 1e-9
    assert calibrate.expected_calibration_error(probs, np.ones(10, int)) > 0.6


def test_min_confidence_keeps_frames_more_often_right_than_wrong() -> None:
    # Confidence c is right with probability c (calibrated): the cut lands near 0.5.
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.15, 0.95, 20000)
    rest = (1 - confidence) / 6
    probs = np.column_stack([confidence] + [rest] * 6)
    labels = np.where(rng.random(20000) < confidence, 0, 1)
    assert 0.45 <= calibrate.choose_min_confidence(probs, labels) <= 0.55
