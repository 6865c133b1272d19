"""``python manage.py train_recommender [--refit]``: select the engine and train now, as the nightly beat task does."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import store
from recommender.training import train_and_publish


class Command(BaseCommand):
    help = (
        "Select the recommender engine on the shop's latest interactions, train it (with the emotion blend) "
        "and publish a new model version; --refit reuses the last selection, as the hourly task does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, help="training threads (default RECOMMENDER_TRAIN_THREADS)")
        parser.add_argument("--refit", action="store_true", help="refit the last selected engine (hourly path)")
        parser.add_argument("--json", action="store_true", help="print the version's metrics as JSON on stdout")

    def handle(self, *args: object, **options: object) -> None:
        if options["threads"] is not None and options["threads"] < 1:
            raise CommandError("--threads must be at least 1.")
        try:
            version, metrics = train_and_publish(options["seed"], options["threads"], select=not options["refit"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"version": version, **metrics}, indent=2))
        # The figures (every candidate's, hundreds of lines) stay in the version's file unless asked for.
        figures = store.model_dir(Path(settings.RECOMMENDER_MODEL_DIR)) / f"model-{version}.json"
        label = metrics["selection"]["label"]
        self.stdout.write(self.style.SUCCESS(f"Published model {version}: {label}; its metrics: {figures}"))
