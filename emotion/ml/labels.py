"""Emotion class names in FER2013 label order.

The integer labels stored in every dataset and emitted by every model index
into ``CLASSES``; keeping the order in one place stops training and inference
from silently disagreeing.
"""

from typing import Final

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
