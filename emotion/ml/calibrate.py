"""Confidence calibration: temperature scaling and the reaction rules' confidence cut.

A new model shifts its confidences, and reactions count a frame only above a cut
(``emotion.reactions.Rules.min_confidence``), so each shipped model is calibrated on
the validation split (Guo et al. 2017: one temperature, fitted by log-likelihood,
keeps the ranking and so the accuracy) and its cut re-chosen there, both recorded in
its card and applied by :class:`emotion.ml.inference.EmotionClassifier`.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

_EPS = 1e-7


def apply_temperature(probs: NDArray[np.floating], temperature: float) -> NDArray[np.float32]:
    """softmax(log p / T): T > 1 softens over-confident probabilities."""
    if temperature == 1.0:
        return probs.astype(np.float32)
    logits = np.log(np.clip(probs.astype(np.float64), _EPS, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=-1, keepdims=True)).astype(np.float32)


def fit_temperature(probs: NDArray[np.floating], labels: NDArray[np.int64]) -> float:
    """The temperature minimising the negative log-likelihood of ``labels``."""
    from scipy.optimize import minimize_scalar  # training-time only; the worker just applies it

    def nll(log_t: float) -> float:
        p = apply_temperature(probs, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], _EPS, 1.0))))

    result = minimize_scalar(nll, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(probs: NDArray[np.floating], labels: NDArray[np.int64], bins: int = 15) -> float:
    """ECE: confidence-vs-accuracy gap averaged over equal-width confidence bins, weighted by count.

    Written out because scikit-learn's ``calibration_curve`` does not return the bin counts
    this weighting needs.
    """
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def choose_min_confidence(probs: NDArray[np.floating], labels: NDArray[np.int64]) -> float:
    """The cut that counts the most right and the fewest wrong frames: max of (right - wrong) kept.

    The same rule as the quality threshold (``emotion.ml.quality.choose_threshold``).
    """
    confidence = probs.max(axis=1)
    signed = np.where(probs.argmax(axis=1) == labels, 1, -1)
    candidates = np.round(np.arange(0.15, 0.9, 0.01), 2)
    values = [signed[confidence >= c].sum() for c in candidates]
    return float(candidates[int(np.argmax(values))])


def calibrate(probs: NDArray[np.floating], labels: NDArray[np.int64]) -> dict[str, Any]:
    """Everything the card records: temperature, ECE before/after, the confidence cut."""
    temperature = fit_temperature(probs, labels)
    calibrated = apply_temperature(probs, temperature)
    return {
        "method": "temperature scaling fitted on the validation split (negative log-likelihood)",
        "temperature": round(temperature, 4),
        "ece_before": expected_calibration_error(probs, labels),
        "ece_after": expected_calibration_error(calibrated, labels),
        "min_confidence": choose_min_confidence(calibrated, labels),
        "min_confidence_rule": "maximises (right - wrong) among frames counted, on the validation split",
        "n": len(labels),
    }
