"""``python manage.py seed_demo [--scale N]``: the demo catalog and shopping history."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop import demo

BASE_PRODUCTS = 200
BASE_SHOPPERS = 300


class Command(BaseCommand):
    help = (
        "Create a demo catalog (10 categories, 200 products × scale, locally generated images) "
        "and a synthetic shopping history (max(300, 100 × scale) shoppers). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=int, default=1, help="Multiplier: 50 gives 10k products and 5k shoppers.")
        parser.add_argument("--products", type=int, help="Override the number of products.")
        parser.add_argument("--shoppers", type=int, help="Override the number of shoppers.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")

    def handle(self, *args: object, **options: object) -> None:
        scale = options["scale"]
        if not 1 <= scale <= 500:
            raise CommandError("--scale must be between 1 and 500.")
        products = options["products"] or BASE_PRODUCTS * scale
        shoppers = options["shoppers"] or max(BASE_SHOPPERS, 100 * scale)
        for name, value in (("--products", products), ("--shoppers", shoppers)):
            if not 1 <= value <= 1_000_000:
                raise CommandError(f"{name} must be between 1 and 1,000,000.")
        if not 0 <= options["seed"] < 2**32:
            raise CommandError("--seed must be between 0 and 2**32 - 1.")
        report = demo.seed(products, shoppers, seed=options["seed"], progress=options["verbosity"] >= 1)
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalog: {report.categories} categories, {report.products} products; "
                f"{report.shoppers} shoppers; new history: {report.interactions} interactions, "
                f"{report.orders} orders; {report.seconds:.1f}s."
            )
        )
