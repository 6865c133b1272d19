"""``manage.py evaluate_emotion_model``: Django front door to ``emotion.ml.evaluate``.

Defaults ``--model`` to the shipped model in ``settings.EMOTION_MODEL_DIR``.
"""

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from emotion.ml import evaluate


class Command(BaseCommand):
    help = "Evaluate an emotion model: accuracy, macro-F1, per-class metrics, confusion matrix."

    def add_arguments(self, parser: CommandParser) -> None:
        evaluate.add_arguments(parser, default_model=Path(settings.EMOTION_MODEL_DIR) / "emotion.keras")

    def handle(self, *args: str, **options: object) -> None:
        evaluate.run(argparse.Namespace(**options))
