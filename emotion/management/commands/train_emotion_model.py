"""``manage.py train_emotion_model``: Django front door to ``emotion.ml.train``.

Options are identical to ``python -m emotion.ml.train``; the only Django
touch is that the shipped model goes to ``settings.EMOTION_MODEL_DIR``
unless ``--out`` says otherwise.
"""

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from emotion.ml import train


class Command(BaseCommand):
    help = "Train (or --resume) the emotion CNN and ship it with its model card."

    def add_arguments(self, parser: CommandParser) -> None:
        train.add_arguments(parser, default_out=Path(settings.EMOTION_MODEL_DIR))

    def handle(self, *args: str, **options: object) -> None:
        train.run(argparse.Namespace(**options))
