"""Emotion class names in FER2013 label order, and how pleasant each one is.

The integer labels stored in every dataset and emitted by every model index
into ``CLASSES``; keeping the order in one place stops training and inference
from silently disagreeing. The valence table sits beside it so that the pure
recommender layer (``recommender.ml``) needs only ``emotion.ml``, never the app.
"""

from collections.abc import Mapping
from typing import Final

import numpy as np
from numpy.typing import NDArray

CLASSES: Final[tuple[str, ...]] = (
    "angry",
    "disgust",
    "fear",
    "happy",
    "sad",
    "surprise",
    "neutral",
)
NUM_CLASSES: Final[int] = len(CLASSES)
CLASS_TO_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(CLASSES)}

# How pleasant each FER2013 emotion is for a shopper looking at a product, in [-1, 1].
# Disgust is the clearest rejection, anger close to it; sadness and fear are negative but
# often not about the product; surprise is mostly pleasant in a shop ("oh, nice");
# neutral carries no preference. Capture, the staff reports and the recommender all read it.
VALENCE: Final[dict[str, float]] = {
    "happy": 1.0,
    "surprise": 0.5,
    "neutral": 0.0,
    "sad": -0.5,
    "fear": -0.5,
    "angry": -0.8,
    "disgust": -1.0,
}
VALENCE_VECTOR: Final[NDArray[np.float64]] = np.array([VALENCE[name] for name in CLASSES])


def seconds_vector(seconds: Mapping[str, float]) -> NDArray[np.float64]:
    """Seconds per emotion in ``CLASSES`` order from a ``{"happy": 3.5, ...}`` mapping."""
    unknown = set(seconds) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown emotions {sorted(unknown)}")
    return np.array([float(seconds.get(name, 0.0)) for name in CLASSES])


def valence(seconds: Mapping[str, float]) -> float:
    """Duration-weighted mean valence in [-1, 1]: what the shopper showed; 0 without reactions.

    This is the one meaning of "valence" (``AffectSummary.valence``, every staff report).
    Ranking shrinks it towards 0 for short reactions, under another name
    (``recommender.ml.affect.shrunk_valence``).
    """
    vector = seconds_vector(seconds)
    total = vector.sum()
    return float(vector @ VALENCE_VECTOR / total) if total > 0 else 0.0


# How activated (aroused) each emotion is, in [-1, 1]: the second axis of Russell's circumplex
# model of affect (1980), beside valence. Fear, surprise and anger are high-arousal, sadness
# is low; neutral is the resting point. Placements follow the circumplex's usual ordering
# of the basic emotions; they are coarse, so the reports show arousal beside valence, not alone.
AROUSAL: Final[dict[str, float]] = {
    "angry": 0.7,
    "disgust": 0.3,
    "fear": 0.8,
    "happy": 0.5,
    "sad": -0.4,
    "surprise": 0.8,
    "neutral": 0.0,
}


def arousal(seconds: Mapping[str, float]) -> float:
    """Duration-weighted mean arousal in [-1, 1]; 0 without reactions."""
    vector = seconds_vector(seconds)
    total = vector.sum()
    return float(vector @ np.array([AROUSAL[name] for name in CLASSES]) / total) if total > 0 else 0.0
