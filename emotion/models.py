"""Consent, per-frame observations (labels only, never pixels), reactions and aggregates."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from emotion.ml.labels import CLASSES

from .sealing import new_key

EMOTION_CHOICES = [(name, name.capitalize()) for name in CLASSES]


class Outcome(models.TextChoices):
    """What became of one frame: the one status an observation (or a dropped-frame count) carries."""

    STORED = "stored", "Stored"
    NO_FACE = "no_face", "No face"
    STALE = "stale", "Stale"
    LOW_QUALITY = "low_quality", "Low quality"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SEVERAL_FACES = "several_faces", "Several faces"
    CLIENT_REPORTED = "client_reported", "Client-reported"
    ERASED = "erased", "Erased"
    UNREADABLE = "unreadable", "Unreadable"


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active(self) -> "ConsentQuerySet":
        """Consent to the current policy, not withdrawn: the one rule for "may we capture now"."""
        return self.filter(policy_version=settings.EMOTION_CONSENT_POLICY_VERSION, withdrawn_at=None)


class Consent(models.Model):
    """A shopper's camera consent for one policy version; withdrawing ends it."""

    shopper_id = models.UUIDField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="emotion_consents"
    )
    policy_version = models.CharField(max_length=20)
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # The key the API seals this consent's frames with before they enter the broker
    # (emotion.sealing). It lives here, outside the broker, and goes with the row on
    # withdrawal, so frames still queued (or kept in an append-only file) stay unreadable.
    frame_key = models.BinaryField(max_length=32, default=new_key, editable=False)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["shopper_id", "withdrawn_at"])]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "active"
        return f"Consent v{self.policy_version} ({state})"


class ShopperData(models.Model):
    """Who a row belongs to: the session's shopper id and, when logged in, the account."""

    shopper_id = models.UUIDField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class EmotionObservation(ShopperData):
    """What the classifier saw in one frame. ``label`` is empty for a gap; ``outcome`` says why."""

    view = models.ForeignKey("shop.Interaction", on_delete=models.CASCADE, related_name="emotion_observations")
    sequence = models.PositiveIntegerField()
    captured_at = models.DateTimeField(db_index=True)
    label = models.CharField(max_length=10, choices=EMOTION_CHOICES, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(null=True, blank=True)
    model_version = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.STORED)
    # The face's quality score (emotion.ml.quality) in [0, 1]; null when no face was scored.
    quality = models.FloatField(null=True, blank=True)
    # The part of the camera picture the frame showed, and where the face was in the picture
    # (x, y, w, h fractions; null: the whole picture, no face): the region of interest the
    # next frame should show is computed from them (emotion.roi). Positions only, never pixels.
    shown_region = models.JSONField(null=True, blank=True)
    face_region = models.JSONField(null=True, blank=True)
    # Indexed for the sweep that closes the reactions of views gone quiet (emotion.tasks).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["view", "sequence"]
        constraints = [models.UniqueConstraint(fields=["view", "sequence"], name="unique_observation_per_frame")]

    def __str__(self) -> str:
        return f"{self.label or self.get_outcome_display()} @ {self.sequence}"


class ReactionEvent(ShopperData):
    """How long one emotion lasted during one view of one product."""

    view = models.ForeignKey("shop.Interaction", on_delete=models.CASCADE, related_name="reaction_events")
    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    duration_seconds = models.FloatField()
    mean_confidence = models.FloatField()
    frames = models.PositiveIntegerField()
    # Made up by ``seed_reactions`` for demos and benchmarks, not seen by a camera.
    synthetic = models.BooleanField(default=False)

    class Meta:
        ordering = ["view", "started_at"]
        indexes = [
            models.Index(fields=["product", "started_at"]),
            # Small (demo data only): answers "does this period include synthetic reactions?" at once.
            models.Index(fields=["started_at"], condition=models.Q(synthetic=True), name="reaction_synthetic_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.emotion} for {self.duration_seconds:.1f}s"


class AffectSummary(ShopperData):
    """A shopper's accumulated reaction to a product: what the recommender reads."""

    seconds = models.JSONField(default=dict, help_text="Reaction seconds per emotion.")
    valence = models.FloatField(default=0.0)
    mean_confidence = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "affect summaries"
        # Staff see a named person's emotion-derived figures (recommendation reasons, affect
        # scores) only with this permission, granted explicitly; being staff is not enough.
        permissions = [("view_personal_affect", "Can see a person's emotion-derived reasons and scores")]
        constraints = [models.UniqueConstraint(fields=["shopper_id", "product"], name="unique_affect_per_shopper")]

    def __str__(self) -> str:
        return f"valence {self.valence:+.2f}"


class ProductEmotionDaily(models.Model):
    """Anonymous per-product, per-day aggregate; survives the retention purge of raw data."""

    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="emotion_daily")
    day = models.DateField()
    emotion = models.CharField(max_length=10, choices=EMOTION_CHOICES)
    seconds = models.FloatField(default=0.0)
    events = models.PositiveIntegerField(default=0)
    # Distinct viewers (accounts, else sessions) who showed this emotion on this product that day.
    viewers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["product", "day", "emotion"], name="unique_daily_product_emotion")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.emotion}: {self.seconds:.0f}s"


class DroppedFrames(models.Model):
    """Anonymous count of frames dropped unread per day and outcome (e.g. consent withdrawn).

    A withdrawn shopper's frame cannot become an observation row: that would re-create
    personal data the withdrawal just erased. So it is counted here, with no owner.
    """

    day = models.DateField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    frames = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "dropped frames"
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["day", "outcome"], name="unique_dropped_frames_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome}: {self.frames}"


class ViewerSegment(models.TextChoices):
    """The viewer groups the staff product page splits reactions by (``emotion.services.segments_of``).

    Returning: the viewer (account, else session) used the shop at least
    ``RETURNING_AFTER`` before the view, i.e. in an earlier visit.
    """

    NEW = "new", "new viewers"
    RETURNING = "returning", "returning viewers"
    LOGGED_IN = "logged_in", "logged in"
    ANONYMOUS = "anonymous", "anonymous"


class ProductViewerSketch(models.Model):
    """The ``SKETCH_SIZE`` smallest keyed hashes of one product-day's reacting viewers.

    Anonymous (an HMAC of the viewer under the site's secret key, no id) and, like the daily
    rollup, kept after the retention purge. Merged over any set of product-days, the number of
    distinct hashes reaches K (K <= ``SKETCH_SIZE``) exactly when at least K distinct viewers
    reacted there: each day keeps its K smallest, and the K smallest of the union are among
    them. So "at least K viewers" stays exact for any period, after raw events are gone.
    """

    SKETCH_SIZE = 32
    ALL = ""  # the ``segment`` of the sketch of all the product-day's reacting viewers

    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # One sketch per viewer group: ALL for every reacting viewer, else a ``ViewerSegment``.
    segment = models.CharField(max_length=10, blank=True, default=ALL, choices=ViewerSegment.choices)
    key = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "day", "segment", "key"], name="unique_viewer_sketch_key")
        ]
        indexes = [models.Index(fields=["day", "product"])]

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}"


class ProductDailySummary(models.Model):
    """One product-day of what the staff reports need beyond the per-emotion rollup, precomputed.

    Written with the rollup by its only writer (``emotion.services.refresh_daily_rollup``), and
    additive over days: a period's figures are sums of at most a few dozen small rows, whatever
    the traffic, where reading the raw events made a busy product's page cost hundreds of
    milliseconds. Anonymous like the rollup (counts and sums only) and kept after the
    retention purge, so these reports outlive the raw events too.
    """

    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Reactions that began this day: totals over emotions, and distinct viewers (exact, this day).
    seconds = models.FloatField(default=0.0)
    events = models.PositiveIntegerField(default=0)
    delight = models.FloatField(default=0.0, help_text="Valence-weighted seconds of the pleasant emotions.")
    dislike = models.FloatField(default=0.0, help_text="Valence-weighted seconds of the unpleasant ones, positive.")
    viewers = models.PositiveIntegerField(default=0)
    # Reaction over viewing time, for the views that came on screen this day and had reactions:
    # {"views": [views still on screen at second s], "showing": {emotion: [views showing it at s]}}.
    viewing = models.JSONField(default=dict)
    # This day's reactions per viewer segment: {segment: {emotion: [seconds, events]}}.
    segments = models.JSONField(default=dict)
    # Data quality of this day's frames (observations).
    frames = models.PositiveIntegerField(default=0)
    frame_views = models.PositiveIntegerField(default=0, help_text="Distinct views with frames this day.")
    no_face = models.PositiveIntegerField(default=0)
    low_confidence = models.PositiveIntegerField(default=0)
    model_versions = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "day"], name="unique_daily_summary")]
        indexes = [models.Index(fields=["day", "product"])]
        verbose_name_plural = "product daily summaries"

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}"


class ModelReport(models.Model):
    """No table: gives the served model's report page an admin entry and its own permission.

    ``emotion.view_model_report`` is granted explicitly (superusers have it); the page reads
    the model card, never the database.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_model_report", "Can view the served emotion model's report")]
        verbose_name = verbose_name_plural = "model report"

    def __str__(self) -> str:
        return "model report"


class EmotionLab(models.Model):
    """No table: gives the emotion lab (classify one uploaded image) an admin entry and a permission.

    ``emotion.use_emotion_lab``: the lab runs the served model on images staff have the right
    to use; it stores nothing (``emotion.lab``).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("use_emotion_lab", "Can use the emotion lab")]
        verbose_name = verbose_name_plural = "emotion lab"

    def __str__(self) -> str:
        return "emotion lab"
