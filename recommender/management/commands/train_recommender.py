"""``python manage.py train_recommender [--refit]``: select the engine and train now, as the nightly beat task does."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

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

    def handle(self, *args: object, **options: object) -> None:
        if options["threads"] is not None and options["threads"] < 1:
            raise CommandError("--threads must be at least 1.")
        try:
            version, metrics = train_and_publish(options["seed"], options["threads"], select=not options["refit"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"version": version, **metrics}, indent=2))
        selection = metrics["selection"]
        self.stdout.write(
            self.style.SUCCESS(f"Published model {version}: {selection['label']} ({selection['reason']}).")
        )
