"""Online experiments: the lists shoppers were shown, the clicks on them, and the experiments.

Impressions and clicks reference shoppers by their session shopper id (which survives login)
and products by id, without foreign keys: they are written in batches from several
processes, so a click may reach the database before the list it names, and deleting a
product must not rewrite the experiment's history.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Panel(models.TextChoices):
    HOME = "home", "Home page: Recommended for you"
    PRODUCT = "product", "Product page: You may also like"
    API = "api", "API: /api/v1/recommendations/"


class Experiment(models.Model):
    """Two arms compared on one panel: A/B per shopper, or both interleaved into one list."""

    class Design(models.TextChoices):
        AB = "ab", "A/B test (each shopper sees one arm)"
        INTERLEAVE = "interleave", "Team-draft interleaving (each list mixes both arms)"

    name = models.CharField(max_length=120)
    panel = models.CharField(max_length=10, choices=Panel.choices)
    design = models.CharField(max_length=12, choices=Design.choices, default=Design.AB)
    arm_a_model = models.CharField(
        "arm A model", max_length=40, default="default", help_text="A published model name (default, als, ease...)."
    )
    arm_a_emotion = models.BooleanField("arm A uses the emotion blend", default=False)
    arm_b_model = models.CharField("arm B model", max_length=40, default="default")
    arm_b_emotion = models.BooleanField("arm B uses the emotion blend", default=True)
    share_b = models.FloatField(
        "share of shoppers in arm B",
        default=0.5,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="A/B only; interleaving shows both arms to everyone.",
    )
    planned_lift = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.001)],
        help_text="Smallest relative lift worth detecting (0.1 = +10%); sets the sample size.",
    )
    horizon_shoppers = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Shoppers to wait for before reading the result (fixed horizon). Empty: the planned sample size.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    simulated = models.BooleanField(default=False, help_text="Filled with simulated traffic (the demo), not shoppers.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["panel"],
                condition=Q(started_at__isnull=False, stopped_at__isnull=True),
                name="one_running_experiment_per_panel",
                violation_error_message="Another experiment is already running on this panel.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """What assignment hashes with the shopper id: stable for the experiment's life."""
        return f"experiment-{self.pk}"

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.stopped_at is None

    @property
    def status(self) -> str:
        if self.started_at is None:
            return "draft"
        return "running" if self.stopped_at is None else "stopped"

    def arm_label(self, arm: int) -> str:
        model, emotion = (self.arm_a_model, self.arm_a_emotion) if arm == 0 else (self.arm_b_model, self.arm_b_emotion)
        return f"{model}{' + emotion' if emotion else ''}"

    @property
    def arm_label_a(self) -> str:
        return self.arm_label(0)

    @property
    def arm_label_b(self) -> str:
        return self.arm_label(1)

    @property
    def arms(self) -> str:
        return f"{self.arm_label(0)} | {self.arm_label(1)}"

    def clean(self) -> None:
        same = (self.arm_a_model, self.arm_a_emotion) == (self.arm_b_model, self.arm_b_emotion)
        # An A/A test is legitimate, but only on purpose: say so in the name.
        if same and "a/a" not in self.name.lower():
            raise ValidationError("Both arms are the same; name the experiment 'A/A ...' if that is intended.")
        if self.stopped_at is not None and (self.started_at is None or self.stopped_at < self.started_at):
            raise ValidationError("An experiment stops after it starts.")


class ImpressionList(models.Model):
    """One recommendation list shown to one shopper: the unit that clicks are attributed to.

    Panels refresh while visible, so the same list is shown again and again: the identical
    ordered list, to the same shopper on the same panel (and product page) within
    ``RECOMMENDER_IMPRESSION_REPEAT_MINUTES`` of its first showing, is this one row, its
    re-showings counted in ``shown_count``; rates per impression count rows, not showings.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shopper_id = models.UUIDField(db_index=True)
    user_id = models.IntegerField(null=True, blank=True)
    panel = models.CharField(max_length=10, choices=Panel.choices)
    context_product_id = models.IntegerField(null=True, blank=True)
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.CASCADE, related_name="lists")
    arm = models.SmallIntegerField(null=True, blank=True, help_text="0 = A, 1 = B; empty for interleaved lists.")
    variant = models.CharField(max_length=120, help_text="Engine and settings that ranked the list.")
    items = models.JSONField(help_text="Product ids, in the order shown.")
    teams = models.JSONField(default=list, blank=True, help_text="Interleaving: the arm that contributed each item.")
    shown_count = models.PositiveIntegerField(default=1)
    first_shown_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_shown_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["experiment", "shopper_id"])]

    def __str__(self) -> str:
        return f"{self.panel} list {self.pk} for {self.shopper_id}"


class Click(models.Model):
    """A shopper followed the item at ``position`` (0-based) of a list."""

    list_id = models.UUIDField(db_index=True)
    position = models.PositiveSmallIntegerField()
    shopper_id = models.UUIDField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"click on {self.list_id} at {self.position}"
