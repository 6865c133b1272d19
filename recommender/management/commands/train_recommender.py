"""``python manage.py train_recommender``: train now, as the hourly beat task does."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.training import train_and_publish


class Command(BaseCommand):
    help = "Train the recommender (ALS + emotion blend) on the interaction log and publish a new model version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, help="implicit threads (default RECOMMENDER_TRAIN_THREADS)")

    def handle(self, *args: object, **options: object) -> None:
        if options["threads"] is not None and options["threads"] < 1:
            raise CommandError("--threads must be at least 1.")
        try:
            version, metrics = train_and_publish(options["seed"], options["threads"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"version": version, **metrics}, indent=2))
        self.stdout.write(self.style.SUCCESS(f"Published model {version}."))
