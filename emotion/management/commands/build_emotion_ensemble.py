"""``manage.py build_emotion_ensemble``: Django front door to ``emotion.ml.ensemble``.

Options are identical to ``python -m emotion.ml.ensemble``; the ensemble is
shipped to ``settings.EMOTION_MODEL_DIR`` unless ``--out`` says otherwise.
"""

import argparse
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from emotion.ml import ensemble


class Command(BaseCommand):
    help = "Average trained emotion CNNs (weights fitted on the validation split) and ship the ensemble."

    def add_arguments(self, parser: CommandParser) -> None:
        ensemble.add_arguments(parser, default_out=Path(settings.EMOTION_MODEL_DIR))

    def handle(self, *args: str, **options: object) -> None:
        ensemble.run(argparse.Namespace(**options))
