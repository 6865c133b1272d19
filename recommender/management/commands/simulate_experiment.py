"""``python manage.py simulate_experiment [--shoppers N] [--lift L] [--once]``: the demo's experiment report."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.experiments import SIMULATED_NAME, simulate_experiment
from recommender.models import Experiment


class Command(BaseCommand):
    help = (
        "Create a stopped A/B experiment (CF against CF + emotion, home panel) filled with SIMULATED shoppers, "
        "marked simulated, so the experiment report has something to show. For the demo shop only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shoppers", type=int, default=6_000)
        parser.add_argument("--lift", type=float, default=0.15, help="planted relative lift of arm B's clicks")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--once", action="store_true", help="do nothing if a simulated experiment exists")

    def handle(self, *args: object, **options: object) -> None:
        if options["shoppers"] < 2:
            raise CommandError("--shoppers must be at least 2.")
        if options["once"] and Experiment.objects.filter(simulated=True, name=SIMULATED_NAME).exists():
            self.stdout.write("A simulated experiment exists already: nothing to do.")
            return
        try:
            experiment = simulate_experiment(options["shoppers"], options["lift"], options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Simulated experiment #{experiment.pk} ({experiment.lists.count()} lists): "
            "see Admin → Insights → Experiment reports."
        )
