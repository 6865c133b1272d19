"""The emotion worker: classify queued camera frames, and purge expired emotion data.

Frames reach the task sealed with their consent's key (``emotion.sealing``) and
base64-encoded inside the broker message; opened, they exist only in memory here: they
are never logged, stored, or returned (results are ignored, so the result backend never
sees them either). The consent is checked before a frame is opened: a withdrawn
shopper's frame is dropped unread (its key is gone) and counted.
"""

import base64
import binascii
import io
import logging
import os
import time
from datetime import datetime

import numpy as np
from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from kombu.exceptions import OperationalError as KombuOperationalError
from PIL import Image
from redis.exceptions import RedisError

from shop.models import Interaction

from . import freshness, receipts, roi, sealing, services
from .models import EmotionObservation, Outcome

logger = logging.getLogger(__name__)

_classifier = None


def classifier():
    """The process's classifier, loaded once (after fork, see ``_load_model``)."""
    global _classifier
    if _classifier is None:
        from emotion.ml.inference import EmotionClassifier

        _classifier = EmotionClassifier(
            settings.EMOTION_MODEL_DIR, tta=settings.EMOTION_WORKER_TTA, detector=settings.EMOTION_FACE_DETECTOR
        )
    return _classifier


@worker_init.connect
def _refuse_to_start_without_a_model(sender, **kwargs: object) -> None:
    """A worker that consumes the emotion queue checks the model before taking any frame.

    Without this a missing or corrupt model would fail (and so drop) every frame; refusing
    to start makes the fault loud while the web shop keeps working without emotions.
    """
    queues = sender.app.amqp.queues.consume_from or sender.app.amqp.queues
    if "emotion" not in queues:
        return
    from emotion.ml.inference import EmotionClassifier

    try:
        probe = EmotionClassifier(settings.EMOTION_MODEL_DIR, detector=settings.EMOTION_FACE_DETECTOR)
        probe.analyze(np.zeros((64, 64), dtype=np.uint8))  # detector and classifier both run
        probe.classify_faces(np.zeros((1, 48, 48), dtype=np.uint8))
    except Exception as exc:  # any failure to load or run means the model is unusable
        logger.critical(
            "Emotion model in %s is unusable (%s); the worker will not start.", settings.EMOTION_MODEL_DIR, exc
        )
        raise SystemExit(f"Emotion model in {settings.EMOTION_MODEL_DIR} is unusable: {exc}") from exc
    del probe  # each pool process loads its own copy after fork


@worker_process_init.connect
def _load_model(**kwargs: object) -> None:
    """Load the model in each worker child after fork (TF state does not survive fork)."""
    threads = str(settings.EMOTION_WORKER_THREADS)
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, threads)
    classifier()


class BrokerUnavailable(RuntimeError):
    """The broker did not take the frame (down or restarting); the client may retry later."""


# A shopper's browser sends the next frame within half a second: retrying a publish for
# longer than that only holds a web worker hostage. Give up fast and answer 503 instead.
FRAME_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


def enqueue_frame(
    target: services.FrameTarget, sequence: int, captured_at: datetime, frame: bytes, shown: roi.Region | None = None
) -> None:
    """Seal one frame with its consent's key and queue it; the task's repr never includes it.

    ``shown`` is the region of the camera picture the frame shows (None: all of it).
    """
    sealed = sealing.seal_frame(target.key, frame, target.view_pk, sequence)
    queued_at = time.time()
    try:
        receipts.issue(target.view_pk, sequence, target.consent_pk, target.key, captured_at, queued_at)
        _publish_frame(target, sequence, captured_at, base64.b64encode(sealed).decode("ascii"), queued_at, shown)
    except (KombuOperationalError, RedisError, OSError) as exc:
        receipts.settle(target.view_pk, sequence)  # refused with a 503: nothing was promised
        raise BrokerUnavailable(str(exc)) from exc


def _publish_frame(
    target: services.FrameTarget,
    sequence: int,
    captured_at: datetime,
    sealed_b64: str,
    queued_at: float,
    shown: roi.Region | None = None,
) -> None:
    classify_frame.apply_async(
        retry=True,
        retry_policy=FRAME_PUBLISH_RETRY,
        kwargs={
            "view_pk": target.view_pk,
            "sequence": sequence,
            "captured_at": captured_at.isoformat(),
            "consent_pk": target.consent_pk,
            "sealed_frame": sealed_b64,
            "queued_at": queued_at,
            "region": shown.as_dict() if shown else None,
        },
        kwargsrepr=repr({"view_pk": target.view_pk, "sequence": sequence}),
    )


# Tasks that write emotion data: acknowledged only once done (a killed worker's message is
# redelivered) and retried with backoff while the database is unreachable.
DATABASE_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    # A run past this is killed: the broker's visibility timeout (30 s) is sized to it.
    "soft_time_limit": 15,
    "time_limit": 20,
}


@shared_task(**DATABASE_TASK_OPTIONS)
def classify_frame(
    *,
    view_pk: int,
    sequence: int,
    captured_at: str,
    consent_pk: int,
    sealed_frame: str,
    queued_at: float | None = None,
    region: dict[str, float] | None = None,
) -> None:
    """Check consent, then open, detect, classify and store one frame (idempotent on view + sequence).

    A frame whose consent is gone is counted and dropped without being opened or decoded;
    so is one whose view is gone or whose seal no longer opens (the shopper erased their
    data since it was queued: an erased person's frame must not be stored after the
    erasure). A frame queued (``queued_at``, the web process's clock) longer ago than the
    freshness budget is not decoded: it is stored as a gap with outcome "stale".
    A frame that cannot be decoded is logged (without its bytes) and counted as unreadable: a
    poisoned message must never crash or wedge the worker. Database outages are retried.
    ``region`` is the part of the camera picture the frame shows; it is stored with where the
    face was, from which the API names the region the next frame should show (``emotion.roi``).
    Once the outcome is written the frame's receipt is settled (``emotion.receipts``).
    """
    _classify_frame(view_pk, sequence, captured_at, consent_pk, sealed_frame, queued_at, region)
    receipts.settle(view_pk, sequence)  # not on a retry (it raised): the retry settles it


def _classify_frame(
    view_pk: int,
    sequence: int,
    captured_at: str,
    consent_pk: int,
    sealed_frame: str,
    queued_at: float | None,
    region: dict[str, float] | None,
) -> None:
    from emotion.ml.inference import ImageDecodeError

    key = services.frame_key(consent_pk)
    if key is None:  # withdrawn while queued: the key went with the consent
        _drop(view_pk, sequence, Outcome.WITHDRAWN)
        return
    view = Interaction.objects.filter(pk=view_pk, kind=Interaction.Kind.VIEW).first()
    if view is None:  # the view was deleted while the frame was queued
        _drop(view_pk, sequence, Outcome.ERASED)
        return
    try:
        frame = sealing.open_frame(key, base64.b64decode(sealed_frame, validate=True), view_pk, sequence)
    except sealing.InvalidTag:
        # Not sealed with the consent's current key: the shopper erased their data since it
        # was queued (the erasure changes the key), or the message was forged or tampered with.
        _drop(view_pk, sequence, Outcome.ERASED)
        return
    except (binascii.Error, ValueError) as exc:
        logger.warning("Dropped an unreadable frame (view %s, seq %s): %s", view_pk, sequence, type(exc).__name__)
        _drop(view_pk, sequence, Outcome.UNREADABLE)
        return
    sealed_with = (consent_pk, key)  # re-checked under the consent lock when the outcome is written
    if freshness.is_stale(queued_at):
        stale = services.Classification(None, outcome=Outcome.STALE)
        captured = datetime.fromisoformat(captured_at)
        if not services.record_observation(view, sequence, captured, stale, "", sealed_with=sealed_with):
            _drop_if_refused(view_pk, sequence, consent_pk, key)
        return
    shown = roi.Region.from_dict(region)
    model = classifier()
    try:
        result = classify_single_face(model, frame, shown)
    except (ImageDecodeError, ValueError) as exc:
        logger.warning("Dropped an unreadable frame (view %s, seq %s): %s", view_pk, sequence, type(exc).__name__)
        _drop(view_pk, sequence, Outcome.UNREADABLE)
        return
    try:
        stored = services.record_observation(
            view, sequence, datetime.fromisoformat(captured_at), result, model.model_version, shown, sealed_with
        )
    except DatabaseError as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            raise  # transient: autoretry with backoff
        logger.error("Could not store observation (view %s, seq %s): %s", view_pk, sequence, exc)
        return
    if not stored:  # withdrawn or erased while this frame was classified, or a redelivered duplicate
        _drop_if_refused(view_pk, sequence, consent_pk, key)
        return
    if claim_reaction_refresh(view_pk):
        services.refresh_view_reactions(view)


def _drop(view_pk: int, sequence: int, outcome: Outcome) -> None:
    """Count a frame dropped without an observation, once: whoever settles its receipt counts it.

    A redelivered message, or the lost-frame sweep racing a late delivery, finds the receipt
    settled and counts nothing (on the embedded broker, without receipts, every call counts).
    """
    if receipts.claim(view_pk, sequence):
        services.count_dropped(outcome)


def _drop_if_refused(view_pk: int, sequence: int, consent_pk: int, key: bytes) -> None:
    """After ``record_observation`` stored nothing: count the frame if consent went or the key changed."""
    reason = services.dropped_because(consent_pk, key)
    if reason is not None:
        _drop(view_pk, sequence, reason)


def classify_single_face(model, frame: bytes, shown: roi.Region | None = None) -> services.Classification:
    """Classify the consenting shopper's face only.

    The rule: a frame whose second-largest face has at least ``EMOTION_SEVERAL_FACES_AREA_RATIO``
    (default one half) of the largest face's box area holds several people at a comparable
    distance, and no one can tell which of them consented: it is a gap with outcome
    "several faces", and no face in it is classified. A clearly smaller face (a passer-by
    far behind, a poster) is ignored and the largest face, the shopper's, is classified.
    A face whose quality score (``emotion.ml.quality``: sharpness, size, exposure) is under
    the model card's threshold is a "low quality" gap: blurred or tiny faces are where the
    model is confidently wrong.
    """
    from emotion.ml.detect import DETECT_MAX_SIDE
    from emotion.ml.inference import decode_image
    from emotion.ml.labels import CLASSES
    from emotion.ml.preprocess import crop_face, pad_box, to_gray
    from emotion.ml.quality import face_quality

    image = normalised_high_depth(frame)
    if image is None:
        image = decode_image(frame, max_side=DETECT_MAX_SIDE)
    boxes = model.detector(image, bgr=False)  # largest first
    if not boxes:
        return services.Classification(None)
    if len(boxes) > 1 and _area(boxes[1]) >= settings.EMOTION_SEVERAL_FACES_AREA_RATIO * _area(boxes[0]):
        return services.Classification(None, outcome=Outcome.SEVERAL_FACES)
    seen = roi.face_in_picture(boxes[0], image.shape[1], image.shape[0], shown)
    gray = to_gray(image, bgr=False)
    box = pad_box(boxes[0], gray.shape)
    face = crop_face(gray, box)
    score = face_quality(face, min(box[2], box[3])).score
    if model.quality_threshold is not None and score < model.quality_threshold:
        return services.Classification(None, outcome=Outcome.LOW_QUALITY, quality=score, face=seen)
    probabilities = model.classify_faces(face[None])[0]
    best = int(probabilities.argmax())
    return services.Classification(
        CLASSES[best],
        float(probabilities[best]),
        {name: float(p) for name, p in zip(CLASSES, probabilities, strict=True)},
        quality=score,
        face=seen,
    )


# Pillow's modes for 16- and 32-bit grayscale: ``convert("RGB")`` clips them at 255 (mostly white).
HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def normalised_high_depth(frame: bytes) -> np.ndarray | None:
    """A 16-bit grayscale PNG as 8-bit RGB, scaled over its full range instead of clipped.

    None for every other frame (the usual decode handles it; 16-bit colour PNGs are already
    reduced to 8 bits by Pillow). The API has checked the frame's type and size beforehand.
    """
    from emotion.ml.inference import ImageDecodeError

    if not frame.startswith(b"\x89PNG"):
        return None
    try:
        with Image.open(io.BytesIO(frame), formats=["PNG"]) as image:
            if image.mode not in HIGH_DEPTH_MODES:
                return None
            pixels = np.asarray(image, dtype=np.uint32)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"Corrupt or truncated image ({exc})") from exc
    gray = np.clip(pixels // 257, 0, 255).astype(np.uint8)  # 0..65535 onto 0..255
    return np.repeat(gray[..., None], 3, axis=2)


def _area(box: tuple[int, int, int, int]) -> int:
    return box[2] * box[3]


def claim_reaction_refresh(view_pk: int) -> bool:
    """True for the first stored frame of a view in each refresh period.

    That frame's task rebuilds the view's reactions; the others in the period skip it, so a
    view costs one rebuild per period instead of one per frame. Frames after the last
    rebuild are covered by the dwell report at the view's end (``queue_reaction_refresh``)
    or, when a page never reports, by the ``refresh_quiet_views`` sweep. (No delayed task:
    a worker holding ETA messages crashes inside kombu when the Redis connection drops.)
    Without the cache every frame rebuilds: slower, still correct.
    """
    period = settings.EMOTION_REACTION_REFRESH_SECONDS
    if period <= 0:
        return True
    try:
        return bool(cache.add(f"emotion:reactions-fresh:{view_pk}", 1, timeout=period))
    except (RedisError, OSError):
        return True


def queue_reaction_refresh(view_pk: int) -> None:
    """Rebuild the view's reactions in the worker once the current transaction commits."""

    def publish() -> None:
        try:
            refresh_reactions.apply_async((view_pk,), retry=True, retry_policy=FRAME_PUBLISH_RETRY)
        except (KombuOperationalError, RedisError, OSError) as exc:
            # The frames are stored; the quiet-view sweep rebuilds the reactions later.
            logger.warning("Could not queue the reaction rebuild of view %s: %s", view_pk, exc)

    transaction.on_commit(publish)


@shared_task(**DATABASE_TASK_OPTIONS)
def refresh_reactions(view_pk: int) -> None:
    """Rebuild one view's reaction events, affect summary and daily rollup from its frames."""
    view = Interaction.objects.filter(pk=view_pk, kind=Interaction.Kind.VIEW).first()
    if view is not None:
        services.refresh_view_reactions(view)


@shared_task(ignore_result=False)
def refresh_quiet_views() -> int:
    """Beat task: rebuild the views whose frames stopped recently, closing their last reaction.

    Catches the views whose page never sent a dwell report (a closed laptop, a crashed tab).
    """
    views = services.recently_quiet_views(settings.EMOTION_REACTION_REFRESH_SECONDS)
    for view in views:
        services.refresh_view_reactions(view)
    return len(views)


@shared_task(ignore_result=False)
def settle_lost_frames() -> int:
    """Beat task: frames accepted long ago whose outcome was never written get one.

    Their message was lost by the broker (a worker killed right after Redis handed it over,
    see ``emotion.receipts``). Each gets the outcome a redelivery this late would have had:
    a ``stale`` gap, or a count of dropped frames when the shopper withdrew consent, erased
    their data (the consent's key changed) or the view is gone. Safe against a late
    redelivery: an observation is written once per view and sequence, and a drop is counted
    by whoever settles the receipt (``_drop``).
    """
    lost = receipts.overdue()
    for receipt in lost:
        _settle_lost(receipt)
        receipts.settle(receipt.view_pk, receipt.sequence)
    if lost:
        logger.warning("Settled %s frames the broker lost as stale gaps or dropped counts", len(lost))
    return len(lost)


def _settle_lost(receipt: receipts.Receipt) -> None:
    if EmotionObservation.objects.filter(view_id=receipt.view_pk, sequence=receipt.sequence).exists():
        return  # the frame's outcome was written; only its receipt was left behind
    key = services.frame_key(receipt.consent_pk)
    if key is None:
        _drop(receipt.view_pk, receipt.sequence, Outcome.WITHDRAWN)
        return
    view = Interaction.objects.filter(pk=receipt.view_pk, kind=Interaction.Kind.VIEW).first()
    if view is None or receipts.key_print(key) != receipt.key_print:
        _drop(receipt.view_pk, receipt.sequence, Outcome.ERASED)
        return
    stale = services.Classification(None, outcome=Outcome.STALE)
    sealed_with = (receipt.consent_pk, key)
    if not services.record_observation(view, receipt.sequence, receipt.captured_at, stale, "", sealed_with=sealed_with):
        _drop_if_refused(receipt.view_pk, receipt.sequence, receipt.consent_pk, key)


@shared_task(ignore_result=False)
def purge_expired_emotion_data() -> dict[str, int]:
    """Beat task: delete observations and reactions past the retention period."""
    observations, reactions = services.purge_expired()
    logger.info("Purged %s observations and %s reaction events past retention", observations, reactions)
    return {"observations": observations, "reactions": reactions}
