"""Consent, observations, reaction events, their rollups and privacy operations, as plain functions.

The API views, the worker task and the admin all go through here, so a rule (what
withdrawing erases, how the daily rollup is counted) is written once. Who owns a row is
``shop.services.owned_rows``; what counts as active consent is ``Consent.objects.active``.
"""

import heapq
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone
from django.utils.crypto import salted_hmac

from shop.models import Interaction, Product
from shop.services import Shopper, owned_rows

from . import roi
from .ml.labels import CLASS_TO_INDEX, CLASSES, VALENCE, valence
from .models import (
    AffectSummary,
    Consent,
    DroppedFrames,
    EmotionObservation,
    Outcome,
    ProductDailySummary,
    ProductEmotionDaily,
    ProductViewerSketch,
    ReactionEvent,
    ViewerSegment,
)
from .reactions import Frame, Rules, build_reactions
from .roi import Region
from .sealing import new_key

# --- Consent -----------------------------------------------------------------------------


def active_consent(shopper: Shopper) -> Consent | None:
    return Consent.objects.active().filter(shopper.rows()).order_by("-granted_at").first()


def grant_consent(shopper: Shopper) -> Consent:
    """Record consent to the current policy (idempotent while consent is active)."""
    return active_consent(shopper) or Consent.objects.create(
        shopper_id=shopper.shopper_id, user=shopper.user, policy_version=settings.EMOTION_CONSENT_POLICY_VERSION
    )


def person(shopper: Shopper) -> Q:
    """Every identity the person behind this session ever had, as a filter on emotion rows.

    Anonymous: the session's shopper id. Logged in: the account, and every shopper id the
    account was ever seen with (anonymous sessions attached to it at sign-up or login, other
    browsers, sessions since logged out), found through the shop's interactions and the
    emotion rows themselves. Rows made anonymously stay under their shopper id alone, so
    ``shopper.rows()`` (this session's id or the account) would miss them.
    """
    if shopper.user is None:
        return shopper.rows()
    ids = {shopper.shopper_id}
    for model in (Interaction, Consent, EmotionObservation, ReactionEvent, AffectSummary):
        ids.update(model.objects.filter(user=shopper.user).values_list("shopper_id", flat=True).distinct())
    return Q(shopper_id__in=ids) | Q(user_id=shopper.user.pk)


@dataclass(frozen=True)
class Erased:
    """What an erasure deleted, row counts per table."""

    observations: int
    reactions: int
    summaries: int
    consents: int = 0


def withdraw_consent(shopper: Shopper) -> Erased:
    """End consent and erase the person's emotion data: capture stops, nothing personal remains.

    The consent rows of every identity go too, and with them the keys their queued frames
    are sealed with (``emotion.sealing``): those frames become unreadable at commit, and
    the worker drops them unopened. One transaction with the erasure.
    """
    with transaction.atomic():
        owner = person(shopper)
        erased = _erase(owner)
        consents = Consent.objects.filter(owner).delete()[0]
    return Erased(erased.observations, erased.reactions, erased.summaries, consents)


def erase_emotion_data(shopper: Shopper) -> Erased:
    """Delete every observation, reaction and affect summary of the person (consent stays).

    Each consent gets a new frame key in the same transaction: frames queued before the
    erasure were sealed with the old one, so the worker can no longer open them and counts
    them as erased instead of storing them after the erasure.
    """
    with transaction.atomic():
        owner = person(shopper)
        erased = _erase(owner)
        for consent in Consent.objects.filter(owner):
            consent.frame_key = new_key()
            consent.save(update_fields=["frame_key"])
    return erased


def _erase(owner: Q) -> Erased:
    """Delete the owner's emotion rows; recompute the anonymous daily aggregates without them.

    Locking the consent rows first (on PostgreSQL; SQLite takes its write lock at the
    start of every transaction, see settings) makes a frame or reaction rebuild in flight
    finish before the erasure, which then deletes what it wrote.
    """
    list(Consent.objects.select_for_update().filter(owner).values_list("pk", flat=True))
    touched = {  # every product-day the owner's reactions, views or frames count in
        *ReactionEvent.objects.filter(owner).annotate(day=TruncDate("started_at")).values_list("product_id", "day"),
        *ReactionEvent.objects.filter(owner)
        .annotate(day=TruncDate("view__created_at"))
        .values_list("product_id", "day"),
        *EmotionObservation.objects.filter(owner)
        .annotate(day=TruncDate("captured_at"))
        .values_list("product_id", "day"),
    }
    observations = EmotionObservation.objects.filter(owner).delete()[0]
    reactions = ReactionEvent.objects.filter(owner).delete()[0]
    summaries = AffectSummary.objects.filter(owner).delete()[0]
    for product_id, day in touched:
        refresh_daily_rollup(product_id, day)
    return Erased(observations, reactions, summaries)


def export_emotion_data(shopper: Shopper) -> dict[str, list[dict[str, object]]]:
    """Everything the shop holds about the person's emotions (never a frame: none is kept)."""
    owner = person(shopper)
    return {
        "consents": list(
            Consent.objects.filter(owner).order_by("granted_at").values("policy_version", "granted_at", "withdrawn_at")
        ),
        "observations": list(
            EmotionObservation.objects.filter(owner)
            .order_by("captured_at", "sequence")
            .values(
                "product_id",
                "captured_at",
                "outcome",
                "label",
                "confidence",
                "probabilities",
                "model_version",
                "quality",
                "shown_region",
                "face_region",
            )
        ),
        "reaction_events": list(
            ReactionEvent.objects.filter(owner)
            .order_by("started_at")
            .values("product_id", "emotion", "started_at", "ended_at", "duration_seconds", "mean_confidence", "frames")
        ),
        "summaries": list(
            AffectSummary.objects.filter(owner)
            .order_by("product_id")
            .values("product_id", "seconds", "valence", "mean_confidence", "updated_at")
        ),
    }


# --- Views and observations --------------------------------------------------------------


class ViewNotFound(LookupError):
    """The view does not exist, is not this shopper's, or is of another product."""


def owned_view(shopper: Shopper, view_id: uuid.UUID, product_id: int | None = None) -> Interaction:
    views = Interaction.objects.filter(shopper.rows(), view_id=view_id, kind=Interaction.Kind.VIEW)
    if product_id is not None:
        views = views.filter(product_id=product_id)
    view = views.first()
    if view is None:
        raise ViewNotFound("unknown view for this shopper and product")
    return view


class FrameRefused(Exception):
    """A frame the shopper may not send; ``code`` tells the API which answer to give."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class FrameTarget:
    """Where an accepted frame goes: its view, and the consent whose key seals it."""

    view_pk: int
    consent_pk: int
    key: bytes


def frame_view(shopper: Shopper, view_id: uuid.UUID, product_id: int) -> FrameTarget:
    """The view and consent a frame belongs to, after every ownership and consent check.

    The accepted path costs one query (view, product and consent key together) because it
    runs for every frame; the extra queries that tell refusals apart run only on refusal.
    """
    consents = Consent.objects.active().filter(shopper.rows()).order_by("-granted_at")
    row = (
        Interaction.objects.filter(shopper.rows(), view_id=view_id, kind=Interaction.Kind.VIEW)
        .annotate(consent_pk=Subquery(consents.values("pk")[:1]), frame_key=Subquery(consents.values("frame_key")[:1]))
        .values("pk", "product_id", "product__is_active", "consent_pk", "frame_key")
        .first()
    )
    consented = row["consent_pk"] is not None if row is not None else active_consent(shopper) is not None
    if not consented:
        raise FrameRefused("No camera consent: ask the shopper first (POST /api/v1/consent/).", "no_consent")
    if row is None or row["product_id"] != product_id or not row["product__is_active"]:
        if not Product.objects.available().filter(pk=product_id).exists():
            raise FrameRefused("Unknown product.", "unknown_product")
        raise FrameRefused("unknown view for this shopper and product", "unknown_view")
    return FrameTarget(row["pk"], row["consent_pk"], bytes(row["frame_key"]))


def frame_key(consent_pk: int) -> bytes | None:
    """The key of a consent that is still active; None once it was withdrawn."""
    key = Consent.objects.active().filter(pk=consent_pk).values_list("frame_key", flat=True).first()
    return bytes(key) if key is not None else None


def dropped_because(consent_pk: int, key: bytes) -> Outcome | None:
    """Why a frame sealed with ``key`` under ``consent_pk`` may not be stored now; None if it may."""
    current = frame_key(consent_pk)
    if current is None:
        return Outcome.WITHDRAWN
    return None if current == bytes(key) else Outcome.ERASED


def count_dropped(outcome: Outcome, frames: int = 1) -> None:
    """Count frames dropped unread (anonymous: per day and outcome only)."""
    day = timezone.localdate()
    with transaction.atomic():
        if not DroppedFrames.objects.filter(day=day, outcome=outcome).update(frames=F("frames") + frames):
            try:
                with transaction.atomic():
                    DroppedFrames.objects.create(day=day, outcome=outcome, frames=frames)
            except IntegrityError:  # another worker created the day's row meanwhile
                DroppedFrames.objects.filter(day=day, outcome=outcome).update(frames=F("frames") + frames)


@dataclass(frozen=True)
class Classification:
    """What the classifier said about one frame; ``label`` None is a gap, ``outcome`` says why."""

    label: str | None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    outcome: Outcome | None = None
    quality: float | None = None  # emotion.ml.quality score of the face, when one was found
    face: Region | None = None  # where the face was in the camera picture (emotion.roi)

    @property
    def status(self) -> Outcome:
        return self.outcome or (Outcome.STORED if self.label else Outcome.NO_FACE)


def _lock_consent(view: Interaction) -> bool:
    """Lock the view owner's active consent rows; False when there are none.

    Storing a frame, rebuilding reactions and erasing data all take this lock first, so
    a withdrawal or erasure waits for them and then deletes what they wrote, and later
    ones find no consent and write nothing.
    """
    consents = Consent.objects.select_for_update().active().filter(owned_rows(view.shopper_id, view.user_id))
    return bool(list(consents.values_list("pk", flat=True)))


def record_observation(
    view: Interaction,
    sequence: int,
    captured_at: datetime,
    result: Classification,
    model_version: str,
    shown: Region | None = None,
    sealed_with: tuple[int, bytes] | None = None,
) -> bool:
    """Store one frame's labels, idempotent on view + sequence.

    Only the observation is written: rebuilding the view's reactions on every frame made
    the worker's cost grow with the view's length, so ``refresh_view_reactions`` runs
    separately (at most once per refresh period per view, see ``emotion.tasks``).
    ``sealed_with`` is the (consent, key) the frame was sealed with: under the consent lock
    the key must still be the consent's, or the shopper erased their data meanwhile (the
    erasure changes it) and nothing is stored. Returns False when the frame was already
    stored (a redelivered task), or when the shopper withdrew consent or erased their data
    while it was queued or classified (it is dropped: ``dropped_because`` says which).
    """
    with transaction.atomic():
        if not _lock_consent(view):
            return False
        if sealed_with is not None:
            consent_pk, key = sealed_with
            current = Consent.objects.filter(pk=consent_pk).values_list("frame_key", flat=True).first()
            if current is None or bytes(current) != bytes(key):
                return False
        try:
            with transaction.atomic():
                EmotionObservation.objects.create(
                    view=view,
                    sequence=sequence,
                    product_id=view.product_id,
                    shopper_id=view.shopper_id,
                    user_id=view.user_id,
                    captured_at=captured_at,
                    label=result.label or "",
                    confidence=result.confidence,
                    probabilities=result.probabilities,
                    model_version=model_version,
                    outcome=result.status,
                    quality=result.quality,
                    shown_region=shown.as_dict() if shown else None,
                    face_region=result.face.as_dict() if result.face else None,
                )
        except IntegrityError:
            return False
    return True


def client_observation_wait(shopper: Shopper, product_id: int) -> float | None:
    """Seconds until the shopper may report on this product again; None while under the cap.

    On-device observations can be forged, so one shopper stores at most
    ``EMOTION_CLIENT_OBSERVATION_CAP`` of them per product in any window of
    ``EMOTION_CLIENT_OBSERVATION_CAP_SECONDS`` (counted by the server's clock, over every view),
    and a flood cannot outweigh other shoppers' reactions in the product's analytics.
    """
    period = timedelta(seconds=settings.EMOTION_CLIENT_OBSERVATION_CAP_SECONDS)
    now = timezone.now()
    recent = EmotionObservation.objects.filter(
        shopper.rows(), product_id=product_id, outcome=Outcome.CLIENT_REPORTED, created_at__gte=now - period
    )
    cap = settings.EMOTION_CLIENT_OBSERVATION_CAP
    # Room comes back when the oldest of the last ``cap`` leaves the window.
    oldest = recent.order_by("-created_at").values_list("created_at", flat=True)[cap - 1 : cap].first()
    if oldest is None:  # under the cap (also when rows went meanwhile, e.g. a withdrawal)
        return None
    return max(1.0, (oldest + period - now).total_seconds())


def record_client_observation(
    target: FrameTarget,
    sequence: int,
    captured_at: datetime,
    result: Classification,
    model_version: str,
    shown: Region | None = None,
) -> Interaction | None:
    """Store an on-device observation as client-reported (it may be forged); the view, or None if not stored.

    The same write as a worker's frame (``record_observation``), outcome ``client_reported``.
    """
    view = Interaction.objects.filter(pk=target.view_pk).first()
    if view is None:  # erased since the request checked it
        return None
    reported = replace(result, outcome=Outcome.CLIENT_REPORTED)
    return view if record_observation(view, sequence, captured_at, reported, model_version, shown) else None


def refresh_view_reactions(view: Interaction) -> list[ReactionEvent]:
    """Rebuild a view's reaction events from its observations, then the aggregates they feed.

    Idempotent, so a late or repeated rebuild is harmless; nothing is written once the
    shopper has withdrawn consent (their data is already erased).
    """
    with transaction.atomic():
        if not _lock_consent(view):
            return []
        return _rebuild_reactions(view)


@lru_cache(maxsize=1)
def reaction_rules() -> Rules:
    """The reaction rules, with the served model's confidence cut when its card has one.

    The cut is chosen on the validation split for each model (``emotion.ml.calibrate``),
    since a new model's confidences shift.
    """
    card = Path(settings.EMOTION_MODEL_DIR) / "model_card.json"
    try:
        cut = json.loads(card.read_text()).get("calibration", {}).get("min_confidence")
    except (OSError, ValueError):
        cut = None
    return Rules(min_confidence=cut) if cut is not None else Rules()


def _rebuild_reactions(view: Interaction) -> list[ReactionEvent]:
    frames = [
        Frame(at, label or None, confidence or 0.0)
        for at, label, confidence in view.emotion_observations.values_list("captured_at", "label", "confidence")
    ]
    view_end = view.created_at + timedelta(seconds=view.dwell_seconds) if view.dwell_seconds else None
    old_days = set(view.reaction_events.annotate(day=TruncDate("started_at")).values_list("day", flat=True))
    view.reaction_events.all().delete()
    events = ReactionEvent.objects.bulk_create(
        ReactionEvent(
            view=view,
            product_id=view.product_id,
            shopper_id=view.shopper_id,
            user_id=view.user_id,
            emotion=r.emotion,
            started_at=r.start,
            ended_at=r.end,
            duration_seconds=r.duration,
            mean_confidence=r.mean_confidence,
            frames=r.frames,
        )
        for r in build_reactions(frames, reaction_rules(), view_end=view_end)
    )
    refresh_affect_summary(view.shopper_id, view.product_id, view.user_id)
    new_days = {timezone.localdate(e.started_at) for e in events} | {timezone.localdate(f.at) for f in frames}
    for day in old_days | new_days | {timezone.localdate(view.created_at)}:
        refresh_daily_rollup(view.product_id, day)
    return events


def recently_quiet_views(quiet_seconds: float, window: timedelta = timedelta(minutes=3)) -> list[Interaction]:
    """Views whose last frame arrived within ``window`` but more than ``quiet_seconds`` ago."""
    now = timezone.now()
    quiet = (
        EmotionObservation.objects.filter(created_at__gte=now - window)
        .values("view")
        .annotate(last=Max("created_at"))
        .filter(last__lt=now - timedelta(seconds=quiet_seconds))
        .values("view")
    )
    return list(Interaction.objects.filter(pk__in=quiet))


def refresh_affect_summary(shopper_id: uuid.UUID, product_id: int, user_id: int | None) -> AffectSummary | None:
    """Seconds per emotion and valence of one shopper for one product, from their reactions."""
    rows = (
        ReactionEvent.objects.filter(shopper_id=shopper_id, product_id=product_id)
        .values("emotion")
        .annotate(
            seconds=Sum("duration_seconds"), frames=Sum("frames"), confidence=Sum("mean_confidence"), events=Count("id")
        )
    )
    seconds = {row["emotion"]: row["seconds"] for row in rows}
    if not seconds:
        AffectSummary.objects.filter(shopper_id=shopper_id, product_id=product_id).delete()
        return None
    events = sum(row["events"] for row in rows)
    summary = AffectSummary(
        shopper_id=shopper_id,
        product_id=product_id,
        user_id=user_id,
        seconds=seconds,
        valence=valence(seconds),
        mean_confidence=sum(row["confidence"] for row in rows) / events,
        updated_at=timezone.now(),
    )
    # One upsert statement: this runs on every reaction refresh (at most once per refresh period per view).
    AffectSummary.objects.bulk_create(
        [summary],
        update_conflicts=True,
        unique_fields=["shopper_id", "product"],
        update_fields=["user", "seconds", "valence", "mean_confidence", "updated_at"],
    )
    return summary


# --- The anonymous daily rollup (its only writer) ------------------------------------------

# Who a viewer is, for distinct counts: the account when logged in, else the session's shopper id.
VIEWER = Coalesce(Cast("user_id", CharField()), Cast("shopper_id", CharField()))
VIEWING_SECONDS = 30  # the reaction-over-viewing-time chart covers the first half minute of a view
RETURNING_AFTER = timedelta(minutes=30)  # an earlier interaction this long before the view: a returning viewer
_SUMMARY_CHUNK = 20_000  # rows fetched at a time in a bulk rebuild
_VIEW_BATCH = 5_000  # views charted per numpy batch (about 1 MB, and within SQLite's query-parameter limit)


def viewer_key(shopper_id: uuid.UUID | str, user_id: int | None) -> int:
    """A viewer's anonymous sketch key: 63 bits of an HMAC under the site's secret key.

    The same person gets the same key on every product and day (so keys merge across days),
    and the key cannot be turned back into an id without the secret and the ids.
    """
    identity = f"user:{user_id}" if user_id is not None else f"shopper:{uuid.UUID(str(shopper_id))}"
    digest = salted_hmac("emotion.viewer-sketch", identity, algorithm="sha256").digest()
    return int.from_bytes(digest[:8], "big") >> 1  # fits a signed 64-bit column


def recomputed_rollup(events: QuerySet[ReactionEvent] | None = None) -> QuerySet[ReactionEvent]:
    """The daily rollup recomputed from raw events by the database: one row per product, day, emotion.

    Days are local days of ``started_at``. Both writers below count through this one query.
    """
    events = ReactionEvent.objects.all() if events is None else events
    return (
        events.annotate(day=TruncDate("started_at"))
        .values("product_id", "day", "emotion")
        .annotate(seconds=Sum("duration_seconds"), events=Count("id"), viewers=Count(VIEWER, distinct=True))
        .order_by()
    )


def segments_of(returning: bool, logged_in: bool) -> tuple[ViewerSegment, ViewerSegment]:
    """The two viewer segments a view's reactions count in: new or returning, logged in or anonymous."""
    return (
        ViewerSegment.RETURNING if returning else ViewerSegment.NEW,
        ViewerSegment.LOGGED_IN if logged_in else ViewerSegment.ANONYMOUS,
    )


def _view_facts(views: QuerySet[Interaction]) -> dict[int, tuple[int, tuple[ViewerSegment, ViewerSegment]]]:
    """Per view: its viewer's sketch key and its two segments (one query; the subquery runs once a view)."""
    earlier = Interaction.objects.filter(
        Q(shopper_id=OuterRef("shopper_id")) | Q(user_id=OuterRef("user_id")),
        created_at__lt=OuterRef("created_at") - RETURNING_AFTER,
    )
    rows = views.annotate(returning=Exists(earlier)).values_list("pk", "shopper_id", "user_id", "returning")
    return {
        pk: (viewer_key(shopper_id, user_id), segments_of(returning, user_id is not None))
        for pk, shopper_id, user_id, returning in rows.order_by().iterator(chunk_size=_SUMMARY_CHUNK)
    }


def _offset(field_name: str) -> ExpressionWrapper:
    """``field_name`` minus the start of the event's view, as a duration."""
    return ExpressionWrapper(F(field_name) - F("view__created_at"), output_field=DurationField())


def _viewing_counts(viewed: QuerySet[ReactionEvent]) -> Iterator[tuple[tuple[int, date], dict[str, Any]]]:
    """Per product and local day of the view: views on screen and views showing each emotion, per second.

    A view is on screen up to its reported dwell time (or its last reaction when none came);
    a reaction counts in every second it overlaps. Views come in batches of whole product-days,
    so memory stays bounded in a bulk rebuild.
    """
    per_view = (
        viewed.values("view_id", "product_id", day=TruncDate("view__created_at"))
        .annotate(dwell=Max("view__dwell_seconds"), last=Max(_offset("ended_at")))
        .order_by("product_id", "day", "view_id")
        .values_list("product_id", "day", "view_id", "dwell", "last")
    )
    early = viewed.filter(started_at__lt=F("view__created_at") + timedelta(seconds=VIEWING_SECONDS))
    batch: list[tuple[int, date, int, float]] = []
    for product_id, day, view_id, dwell, last in per_view.iterator(chunk_size=_SUMMARY_CHUNK):
        if len(batch) >= _VIEW_BATCH and batch[-1][:2] != (product_id, day):
            yield from _count_batch(batch, early)
            batch = []
        batch.append((product_id, day, view_id, max(dwell or 0.0, last.total_seconds())))
    if batch:
        yield from _count_batch(batch, early)


def _count_batch(
    batch: list[tuple[int, date, int, float]], early: QuerySet[ReactionEvent]
) -> Iterator[tuple[tuple[int, date], dict[str, Any]]]:
    index = {view_id: i for i, (_, _, view_id, _) in enumerate(batch)}
    rows = list(
        early.filter(view_id__in=index).values_list("view_id", "emotion", _offset("started_at"), _offset("ended_at"))
    )
    view_of = np.array([index[r[0]] for r in rows], dtype=np.int64)
    emotion_of = np.array([CLASS_TO_INDEX[r[1]] for r in rows], dtype=np.int64)
    first = np.floor([r[2].total_seconds() for r in rows]) if rows else np.empty(0)
    last = np.ceil([r[3].total_seconds() for r in rows]) if rows else np.empty(0)
    showing = np.zeros((len(batch), VIEWING_SECONDS, len(CLASSES)), dtype=bool)
    for second in range(VIEWING_SECONDS):
        during = (first <= second) & (last > second)
        showing[view_of[during], second, emotion_of[during]] = True
    on_screen = np.array([b[3] for b in batch])
    present = on_screen[:, None] > np.arange(VIEWING_SECONDS)[None, :]
    showing &= present[:, :, None]
    groups = [i for i in range(len(batch)) if i == 0 or batch[i][:2] != batch[i - 1][:2]]
    views = np.add.reduceat(present.astype(np.int64), groups, axis=0)
    shown = np.add.reduceat(showing.astype(np.int64), groups, axis=0)
    for g, i in enumerate(groups):
        yield (
            batch[i][:2],
            {
                "views": views[g].tolist(),
                "showing": {e: shown[g, :, k].tolist() for k, e in enumerate(CLASSES)},
            },
        )


def _summaries(
    events: QuerySet[ReactionEvent], viewed: QuerySet[ReactionEvent], observations: QuerySet[EmotionObservation]
) -> tuple[list[ProductDailySummary], list[ProductViewerSketch]]:
    """The summary and viewer-sketch rows of every product-day in some raw rows.

    ``events`` count by the local day they began (totals, segments, sketches), ``viewed``
    (the reactions of the views to chart) by the day their view began, ``observations``
    (frames, for data quality) by the day they were captured. Both writers below call this.
    """
    summaries: dict[tuple[int, date], ProductDailySummary] = {}

    def summary(product_id: int, day: date) -> ProductDailySummary:
        if (product_id, day) not in summaries:
            summaries[product_id, day] = ProductDailySummary(
                product_id=product_id, day=day, viewing={}, segments={}, model_versions=[]
            )
        return summaries[product_id, day]

    facts = _view_facts(Interaction.objects.filter(pk__in=events.values("view_id")))
    keys: dict[tuple[int, date, str], set[int]] = defaultdict(set)
    totals = (
        events.annotate(day=TruncDate("started_at"))
        .values_list("product_id", "day", "view_id", "emotion")
        .annotate(s=Sum("duration_seconds"), n=Count("id"))
        .order_by()
    )
    for product_id, day, view_id, emotion, seconds, n in totals.iterator(chunk_size=_SUMMARY_CHUNK):
        row, (key, segments) = summary(product_id, day), facts[view_id]
        weight = VALENCE.get(emotion, 0.0)
        row.seconds += seconds
        row.events += n
        row.delight += seconds * weight if weight > 0 else 0.0
        row.dislike -= seconds * weight if weight < 0 else 0.0
        for segment in (ProductViewerSketch.ALL, *segments):
            keys[product_id, day, segment].add(key)
            if segment:
                cell = row.segments.setdefault(segment, {}).setdefault(emotion, [0.0, 0])
                cell[0] += seconds
                cell[1] += n
    for (product_id, day, segment), segment_keys in keys.items():
        if segment == ProductViewerSketch.ALL:
            summary(product_id, day).viewers = len(segment_keys)
    for (product_id, day), viewing in _viewing_counts(viewed):
        summary(product_id, day).viewing = viewing

    frames = observations.annotate(day=TruncDate("captured_at")).order_by()
    cut = reaction_rules().min_confidence  # a frame below it is a gap for the reaction rules too
    quality = frames.values("product_id", "day").annotate(
        frames=Count("id"),
        views=Count("view_id", distinct=True),
        no_face=Count("id", filter=Q(label="")),
        low=Count("id", filter=~Q(label="") & Q(confidence__lt=cut)),
    )
    for q in quality.iterator(chunk_size=_SUMMARY_CHUNK):
        row = summary(q["product_id"], q["day"])
        row.frames, row.frame_views, row.no_face, row.low_confidence = q["frames"], q["views"], q["no_face"], q["low"]
    versions = frames.exclude(model_version="").values_list("product_id", "day", "model_version").distinct()
    for product_id, day, version in versions.iterator(chunk_size=_SUMMARY_CHUNK):
        summary(product_id, day).model_versions.append(version)
    for row in summaries.values():
        row.model_versions.sort()
    sketches = [
        ProductViewerSketch(product_id=product_id, day=day, segment=segment, key=key)
        for (product_id, day, segment), segment_keys in keys.items()
        for key in heapq.nsmallest(ProductViewerSketch.SKETCH_SIZE, segment_keys)
    ]
    return list(summaries.values()), sketches


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def refresh_daily_rollup(product_id: int, day: date) -> None:
    """Recompute one product-day of the anonymous aggregates from the raw events and frames.

    The per-emotion rollup, the day's summary (totals, viewing time, segments, data quality)
    and the viewer sketches: called for every day a view's reactions, frames or start fall on.
    """
    start, end = _day_bounds(day)
    events = ReactionEvent.objects.filter(product_id=product_id, started_at__gte=start, started_at__lt=end)
    totals = {row["emotion"]: row for row in recomputed_rollup(events)}
    ProductEmotionDaily.objects.filter(product_id=product_id, day=day).exclude(emotion__in=totals).delete()
    ProductEmotionDaily.objects.bulk_create(
        [
            ProductEmotionDaily(
                product_id=product_id,
                day=day,
                emotion=emotion,
                seconds=row["seconds"],
                events=row["events"],
                viewers=row["viewers"],
            )
            for emotion, row in totals.items()
        ],
        update_conflicts=True,
        unique_fields=["product", "day", "emotion"],
        update_fields=["seconds", "events", "viewers"],
    )
    summaries, sketches = _summaries(
        events,
        ReactionEvent.objects.filter(
            view__product_id=product_id, view__created_at__gte=start, view__created_at__lt=end
        ),
        EmotionObservation.objects.filter(product_id=product_id, captured_at__gte=start, captured_at__lt=end),
    )
    ProductDailySummary.objects.filter(product_id=product_id, day=day).delete()
    ProductDailySummary.objects.bulk_create(summaries)
    ProductViewerSketch.objects.filter(product_id=product_id, day=day).delete()
    ProductViewerSketch.objects.bulk_create(sketches)


def rebuild_rollup() -> int:
    """Replace the whole rollup with a recomputation from the raw events, in one INSERT ... SELECT.

    For bulk loads (the synthetic-reaction seeder), where refreshing one product-day at a time
    would take hours. Days whose raw events were purged keep their rollup rows (and sketches
    and summaries): they cannot be recomputed, and the rollup is the only record of them.
    """
    rows = recomputed_rollup()
    fields = ("product", "day", "emotion", "seconds", "events", "viewers")
    with transaction.atomic():
        days_with_events = ReactionEvent.objects.annotate(day=TruncDate("started_at")).values("day").distinct()
        ProductEmotionDaily.objects.filter(day__in=days_with_events).delete()
        select, params = rows.values_list("product_id", *fields[1:]).query.sql_with_params()
        columns = ", ".join(
            connection.ops.quote_name(ProductEmotionDaily._meta.get_field(name).column) for name in fields
        )
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {ProductEmotionDaily._meta.db_table} ({columns}) {select}", params)
            inserted = cursor.rowcount
        rebuild_summaries()
    return inserted


def rebuild_summaries() -> None:
    """Recompute every daily summary and viewer sketch from the raw events and frames still kept."""
    with transaction.atomic():
        days_with_events = ReactionEvent.objects.annotate(day=TruncDate("started_at")).values("day").distinct()
        days_with_frames = EmotionObservation.objects.annotate(day=TruncDate("captured_at")).values("day").distinct()
        ProductViewerSketch.objects.filter(day__in=days_with_events).delete()
        ProductDailySummary.objects.filter(Q(day__in=days_with_events) | Q(day__in=days_with_frames)).delete()
        summaries, sketches = _summaries(
            ReactionEvent.objects.all(), ReactionEvent.objects.all(), EmotionObservation.objects.all()
        )
        ProductDailySummary.objects.bulk_create(summaries, batch_size=5_000)
        ProductViewerSketch.objects.bulk_create(sketches, batch_size=10_000)


@dataclass(frozen=True)
class ViewStatus:
    frames: int
    faces: int
    last_label: str | None
    last_confidence: float | None
    seconds: dict[str, float]


# Outcomes that say what was seen in a frame: by the worker, or in on-device mode by the page (a
# stale one says nothing).
_SEEN = (Outcome.STORED, Outcome.NO_FACE, Outcome.LOW_QUALITY, Outcome.SEVERAL_FACES, Outcome.CLIENT_REPORTED)


def next_capture_region(view_pk: int) -> Region | None:
    """The region of the camera picture the view's next frame should show (``emotion.roi``).

    From the view's latest frame the worker (or the page) looked at, if recent; None: the
    whole picture. The whole picture also after a frame with several faces, and at least
    once every ``roi.WHOLE_PICTURE_EVERY`` frames: a region around the shopper's face would
    otherwise hide a second person beside them from the several-faces rule.
    """
    if not settings.EMOTION_CAPTURE_ROI:
        return None
    recent = list(
        EmotionObservation.objects.filter(view_id=view_pk, outcome__in=_SEEN)
        .order_by("-sequence")
        .values("shown_region", "face_region", "outcome", "created_at")[: roi.WHOLE_PICTURE_EVERY - 1]
    )
    if not recent or timezone.now() - recent[0]["created_at"] > timedelta(seconds=roi.FACE_TTL_SECONDS):
        return None
    latest = recent[0]
    if latest["outcome"] == Outcome.SEVERAL_FACES:
        return None
    if len(recent) == roi.WHOLE_PICTURE_EVERY - 1 and all(row["shown_region"] for row in recent):
        return None
    return roi.next_after(Region.from_dict(latest["face_region"]), Region.from_dict(latest["shown_region"]))


def view_status(view: Interaction) -> ViewStatus:
    """What the server has seen so far in this view: for the shopper's live badge."""
    observations = view.emotion_observations
    last = observations.exclude(label="").order_by("-sequence").values("label", "confidence").first()
    seconds: dict[str, float] = defaultdict(float)
    for emotion, duration in view.reaction_events.values_list("emotion", "duration_seconds"):
        seconds[emotion] += duration
    return ViewStatus(
        frames=observations.count(),
        faces=observations.exclude(label="").count(),
        last_label=last["label"] if last else None,
        last_confidence=last["confidence"] if last else None,
        seconds=dict(seconds),
    )


def purge_expired(retention_days: int | None = None) -> tuple[int, int]:
    """Delete observations and reaction events older than the retention period.

    Daily aggregates are anonymous and are kept; so are affect summaries, which hold no
    timestamps (they go when the shopper withdraws consent or erases their data).
    """
    days = settings.EMOTION_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    observations = EmotionObservation.objects.filter(captured_at__lt=cutoff).delete()[0]
    reactions = ReactionEvent.objects.filter(ended_at__lt=cutoff).delete()[0]
    return observations, reactions
