"""``python manage.py seed_reactions [--events N]``: synthetic reaction data for analytics demos and benchmarks.

Adds consenting shoppers, their product views, reaction events, add-to-carts and purchases
over the existing catalog (run ``seed_demo`` first), then rebuilds the daily rollup from the
events in one statement. Each product gets a hidden appeal that tilts its viewers towards
pleasant or unpleasant reactions, and pleasant views convert more often, so rankings and
conversion tables have structure to show. Rows are generated with numpy and written with
PostgreSQL's COPY (about a minute for a million events on two cores), or ``bulk_create`` in
large batches on other databases. Each run adds data; it never deletes any. Every event is
marked ``synthetic``: the admin lists and filters them, and the reports say when a period
includes them, so demo figures are never taken for real shoppers'.
"""

import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from tqdm import tqdm

from emotion.ml.labels import CLASSES, VALENCE
from emotion.models import Consent, ReactionEvent
from emotion.sealing import new_key
from emotion.services import rebuild_rollup
from shop.models import Interaction, Product

EVENTS_PER_VIEW = 4
BATCH = 10_000
# How often each emotion shows in a neutral product's views (FER-like: mostly neutral and happy).
BASE_MIX = {"angry": 0.05, "disgust": 0.02, "fear": 0.04, "happy": 0.25, "sad": 0.08, "surprise": 0.1, "neutral": 0.46}


def _write(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], desc: str = "", total: int = 0
) -> None:
    """Insert rows fast: COPY on PostgreSQL, batched bulk_create elsewhere.

    With ``desc``, a progress bar with an ETA (on a terminal only, so logs stay clean).
    """
    if desc:
        rows = tqdm(rows, desc=desc, total=total or None, unit=" rows", unit_scale=True, disable=None)
    if connection.vendor == "postgresql":
        columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    batch: list[models.Model] = []
    for row in rows:
        batch.append(model(**dict(zip(fields, row, strict=True))))
        if len(batch) == BATCH:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _reset_sequences(*models_: type[models.Model]) -> None:
    """Explicit ids were written: move the databases' id sequences past them."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models_)):
            cursor.execute(sql)


def _aware(epochs: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in epochs.tolist()]


class Command(BaseCommand):
    help = "Add synthetic consenting shoppers, views, reaction events and conversions; rebuild the daily rollup."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=100_000, help="Reaction events to add (default 100k).")
        parser.add_argument("--days", type=int, default=60, help="Spread over the last N days (default 60).")
        parser.add_argument("--shoppers", type=int, help="Consenting shoppers (default: one per 50 events).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing when synthetic reactions exist (scripts/demo.sh).",
        )

    def handle(self, *args: object, **options: Any) -> None:
        events, days = options["events"], options["days"]
        if not 1 <= events <= 20_000_000:
            raise CommandError("--events must be between 1 and 20,000,000.")
        if not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        if options["once"] and ReactionEvent.objects.filter(synthetic=True).exists():
            self.stdout.write("Synthetic reactions exist already: nothing added (--once).")
            return
        shoppers = options["shoppers"] or max(events // 50, 1)
        product_ids = np.array(Product.objects.order_by("pk").values_list("pk", flat=True))
        if not len(product_ids):
            raise CommandError("No products: run seed_demo first.")
        started = time.perf_counter()
        rng = np.random.default_rng(options["seed"])
        with transaction.atomic():
            views = self._seed(rng, product_ids, events, shoppers, days)
        with transaction.atomic():
            rollup_rows = rebuild_rollup()
        self.stdout.write(
            self.style.SUCCESS(
                f"{events} reaction events over {views} views of {len(product_ids)} products by {shoppers} "
                f"consenting shoppers; rollup: {rollup_rows} product-day-emotion rows; "
                f"{time.perf_counter() - started:.1f}s."
            )
        )

    def _seed(self, rng: np.random.Generator, product_ids: np.ndarray, events: int, shoppers: int, days: int) -> int:
        """Write consents, views, reaction events, carts and purchases; return the number of views."""
        now = timezone.now().timestamp()
        n_views = max(events // EVENTS_PER_VIEW, 1)
        shopper_ids = [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(shoppers)]
        granted = datetime.fromtimestamp(now, UTC) - timedelta(days=days + 1)
        policy = settings.EMOTION_CONSENT_POLICY_VERSION
        _write(
            Consent,
            ("shopper_id", "policy_version", "granted_at", "frame_key"),
            ((s, policy, granted, new_key()) for s in shopper_ids),
        )

        # Products: skewed popularity (a few get most views) and a hidden appeal in [-1, 1].
        popularity = rng.permutation(1.0 / np.arange(1, len(product_ids) + 1) ** 0.8)
        appeal = rng.uniform(-1.0, 1.0, len(product_ids))
        view_product = rng.choice(len(product_ids), size=n_views, p=popularity / popularity.sum())
        view_shopper = rng.integers(shoppers, size=n_views)
        view_at = now - rng.uniform(2 * 3600, days * 86400, n_views)
        dwell = rng.lognormal(3.0, 0.6, n_views)  # median 20 s

        # Reactions: each event belongs to a view; its emotion follows the product's tilted mix.
        valence = np.array([VALENCE[e] for e in CLASSES])
        logits = np.log([BASE_MIX[e] for e in CLASSES])[None, :] + 2.0 * appeal[:, None] * valence[None, :]
        mix = np.exp(logits)
        cumulative = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
        event_view = np.sort(rng.integers(n_views, size=events))
        emotion = (rng.random(events)[:, None] > cumulative[view_product[event_view]]).sum(axis=1)
        emotion = np.minimum(emotion, len(CLASSES) - 1)
        duration = 0.5 + rng.gamma(2.0, 1.5, events)
        started = view_at[event_view] + rng.random(events) * dwell[event_view]

        # Conversion: views with pleasant reactions add to cart more often; some carts are bought.
        weighted = np.bincount(event_view, weights=valence[emotion] * duration, minlength=n_views)
        seconds = np.bincount(event_view, weights=duration, minlength=n_views)
        view_valence = np.divide(weighted, seconds, out=np.zeros(n_views), where=seconds > 0)
        carted = rng.random(n_views) < 0.04 + 0.2 * np.clip(view_valence, 0.0, 1.0)
        purchased = carted & (rng.random(n_views) < 0.45)

        first_id = _next_id(Interaction)
        product_of = product_ids.tolist()
        product_of_view = [product_of[p] for p in view_product.tolist()]
        shopper_of_view = [shopper_ids[s] for s in view_shopper.tolist()]
        view_rows = zip(
            range(first_id, first_id + n_views),
            view_product.tolist(),
            view_shopper.tolist(),
            dwell.round(2).tolist(),
            _aware(view_at),
            strict=True,
        )
        fields = ("id", "kind", "product_id", "shopper_id", "view_id", "dwell_seconds", "quantity", "created_at")
        _write(
            Interaction,
            fields,
            (
                (pk, Interaction.Kind.VIEW.value, product_of[p], shopper_ids[s], uuid.uuid4(), d, 1, at)
                for pk, p, s, d, at in view_rows
            ),
            desc="views",
            total=n_views,
        )
        next_id = first_id + n_views
        for kind, chosen, delay in (
            (Interaction.Kind.CART, np.flatnonzero(carted), 0.0),
            (Interaction.Kind.PURCHASE, np.flatnonzero(purchased), 600.0),
        ):
            at = _aware(view_at[chosen] + dwell[chosen] + delay)
            rows = zip(range(next_id, next_id + len(chosen)), chosen.tolist(), at, strict=True)
            _write(
                Interaction,
                fields,
                ((pk, kind.value, product_of_view[v], shopper_of_view[v], None, None, 1, when) for pk, v, when in rows),
            )
            next_id += len(chosen)
        _reset_sequences(Interaction)

        event_rows = zip(
            event_view.tolist(),
            emotion.tolist(),
            _aware(started),
            _aware(started + duration),
            duration.round(3).tolist(),
            rng.uniform(0.4, 0.98, events).round(3).tolist(),
            np.maximum(2, np.rint(duration * settings.EMOTION_CAPTURE_FPS)).astype(int).tolist(),
            strict=True,
        )
        _write(
            ReactionEvent,
            (
                "view_id",
                "product_id",
                "shopper_id",
                "emotion",
                "started_at",
                "ended_at",
                "duration_seconds",
                "mean_confidence",
                "frames",
                "synthetic",
            ),
            (
                (
                    first_id + v,
                    product_of_view[v],
                    shopper_of_view[v],
                    CLASSES[e],
                    start,
                    end,
                    d,
                    c,
                    f,
                    True,
                )
                for v, e, start, end, d, c, f in event_rows
            ),
            desc="reaction events",
            total=events,
        )
        return n_views
