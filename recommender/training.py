"""Training: the shop's interaction log and reactions in, published model versions out.

Two schedules share one pipeline (``recommender.ml.selection``):

- selection (nightly beat, and ``manage.py train_recommender``): every candidate engine is
  fitted on all but each shopper's latest interactions and scored on those; the best one
  (with the emotion blend tuned on top) is refitted on everything and published, every
  candidate's validation figures recorded in the version's metrics;
- refit (hourly beat): the engine and blend of the last selection, refitted on the current
  log; a selection older than ``RECOMMENDER_SELECTION_MAX_AGE_HOURS`` (or none) selects again.

Shoppers are keyed ``u<user id>`` when the interaction belongs to an account (anonymous
history is attached to the account on login) and ``s<shopper uuid>`` otherwise; serving
builds the same key, so a shopper's live row lines up with the trained model.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone
from numpy.typing import NDArray

from emotion.ml.labels import seconds_vector
from emotion.models import AffectSummary
from recommender.ml.affect import EMOTIONS, AffectSignal, shrunk_valence
from recommender.ml.cf import ALSParams
from recommender.ml.engines import EngineSpec, fit_engine
from recommender.ml.matrix import ConfidenceWeights, Event, InteractionMatrix, build_matrix
from recommender.ml.selection import (
    PipelineConfig,
    Selection,
    Trained,
    production_candidates,
    refit,
    select_and_fit,
)
from shop.models import Interaction

from . import store

logger = logging.getLogger(__name__)

# Re-ranking weights of the emotion blend tried on top of the selected engine; the
# confidence strength stays 0 in production (each strength is one more fit of the engine).
AFFECT_WEIGHTS: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def shopper_key(user_id: int | None, shopper_id: object) -> str:
    """The model's row id of a shopper: the account when known, else the session's id."""
    return f"u{user_id}" if user_id is not None else f"s{shopper_id}"


def fallback_engine() -> EngineSpec:
    """The safe engine when selection cannot run or its choice fails to fit: ALS from settings."""
    params = ALSParams(
        factors=settings.RECOMMENDER_ALS_FACTORS,
        regularization=settings.RECOMMENDER_ALS_REGULARIZATION,
        alpha=settings.RECOMMENDER_ALS_ALPHA,
        iterations=settings.RECOMMENDER_ALS_ITERATIONS,
    )
    return EngineSpec("als", asdict(params))


def pipeline_config(n_items: int) -> PipelineConfig:
    """The production selection settings; ``evaluate_recommender`` runs the very same ones."""
    configured = settings.RECOMMENDER_CANDIDATES
    candidates = (
        tuple(EngineSpec.from_json(spec) for spec in configured)
        if configured
        else production_candidates(
            n_items,
            settings.RECOMMENDER_EASE_MAX_ITEMS,
            settings.RECOMMENDER_EASE_DENSE_MAX_ITEMS,
            settings.RECOMMENDER_EASE_NEIGHBOURS,
        )
    )
    return PipelineConfig(
        candidates=candidates,
        fallback=fallback_engine(),
        max_validation_users=settings.RECOMMENDER_MAX_TUNING_USERS,
        affect_weights=AFFECT_WEIGHTS,
        min_affect_users=settings.RECOMMENDER_MIN_TUNING_USERS,
        prior_blend=(settings.RECOMMENDER_PRIOR_BLEND_STRENGTH, settings.RECOMMENDER_PRIOR_BLEND_WEIGHT),
    )


def _events() -> Iterator[Event]:
    rows = Interaction.objects.values_list("user_id", "shopper_id", "product_id", "kind", "dwell_seconds", "created_at")
    for user_id, shopper_id, product_id, kind, dwell, created_at in rows.iterator(chunk_size=20_000):
        yield Event(shopper_key(user_id, shopper_id), product_id, kind, dwell, created_at.timestamp())


def load_interactions(weights: ConfidenceWeights | None = None) -> InteractionMatrix:
    """Every logged interaction summed into one confidence per (shopper, product), with its latest time."""
    return build_matrix(_events(), weights)


def load_reactions(data: InteractionMatrix) -> AffectSignal:
    """Valence per (shopper, product) of the matrix, from the seconds of every reaction summary.

    Seconds are summed before taking the valence, so an account's reactions from several
    sessions weigh by how long they lasted.
    """
    seconds: dict[tuple[int, int], NDArray[np.float64]] = defaultdict(lambda: np.zeros(len(EMOTIONS)))
    rows = AffectSummary.objects.values_list("user_id", "shopper_id", "product_id", "seconds")
    for user_id, shopper_id, product_id, summary in rows.iterator(chunk_size=20_000):
        key = shopper_key(user_id, shopper_id)
        if key in data.users and product_id in data.items:
            seconds[data.users.index(key), data.items.index(product_id)] += seconds_vector(summary)
    pairs = np.array(list(seconds), dtype=np.int64).reshape(-1, 2)
    values = shrunk_valence(np.array(list(seconds.values()))) if seconds else np.empty(0)
    return AffectSignal.from_pairs(
        pairs[:, 0], pairs[:, 1], values, data.confidence.shape, store.item_categories(data.items)
    )


def _previous_selection() -> dict[str, Any] | None:
    """The metrics of the served default model when its selection is recent enough to refit."""
    metrics = store.current_metrics(Path(settings.RECOMMENDER_MODEL_DIR))
    if not metrics or "selection" not in metrics or "selected_at" not in metrics["selection"]:
        return None
    selected_at = datetime.fromisoformat(metrics["selection"]["selected_at"])
    if timezone.now() - selected_at > timedelta(hours=settings.RECOMMENDER_SELECTION_MAX_AGE_HOURS):
        return None
    return metrics


def _publish_named(data: InteractionMatrix, metrics: dict[str, Any], seed: int, num_threads: int) -> dict[str, str]:
    """The best candidate of each kind in ``RECOMMENDER_NAMED_MODELS``, refitted and published under its kind."""
    selection = Selection(EngineSpec("popularity"), "", metrics["selection"]["candidates"], 0.0)
    published = {}
    for kind in settings.RECOMMENDER_NAMED_MODELS:
        spec = selection.best_of(kind)
        if spec is None:
            logger.warning("No %s candidate in the selection: named model %r not published.", kind, kind)
            continue
        engine = fit_engine(spec, data.confidence, seed, num_threads)
        named = {**{k: v for k, v in metrics.items() if k != "engine"}, "engine": spec.to_json()}
        named["blend"] = {"strength": 0.0, "weight": 0.0, "source": "named model: engine only"}
        published[kind] = store.publish(
            Path(settings.RECOMMENDER_MODEL_DIR),
            engine,
            data.users,
            data.items,
            named,
            settings.RECOMMENDER_KEEP_VERSIONS,
            name=kind,
        )
    return published


def train(data: InteractionMatrix, signal: AffectSignal, select: bool, seed: int = 0, num_threads: int = 1) -> Trained:
    """Select (or refit the last selection when ``select`` is false and one is recent) and fit."""
    previous = None if select else _previous_selection()
    if previous is not None:
        return refit(data, signal, previous, fallback_engine(), seed, num_threads)
    trained = select_and_fit(data, signal, pipeline_config(len(data.items)), seed, num_threads)
    trained.metrics["selection"]["selected_at"] = timezone.now().isoformat()
    return trained


def train_and_publish(seed: int = 0, num_threads: int | None = None, select: bool = True) -> tuple[str, dict[str, Any]]:
    """Train from the current database and publish a new version; returns (version, metrics)."""
    data = load_interactions()
    if data.confidence.nnz == 0:
        raise ValueError("no interactions logged yet: nothing to train on")
    threads = num_threads or settings.RECOMMENDER_TRAIN_THREADS
    trained = train(data, load_reactions(data), select, seed, threads)
    directory = Path(settings.RECOMMENDER_MODEL_DIR)
    version = store.publish(
        directory, trained.engine, data.users, data.items, trained.metrics, settings.RECOMMENDER_KEEP_VERSIONS
    )
    trained.metrics["named_models"] = _publish_named(data, trained.metrics, seed, threads)
    logger.info(
        "Published recommender model %s: %s (%s)",
        version,
        trained.metrics["selection"]["label"],
        trained.metrics["selection"]["reason"],
    )
    return version, trained.metrics
