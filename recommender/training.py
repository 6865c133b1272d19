"""Training: the shop's interaction log and reactions in, a published model version out.

Shoppers are keyed ``u<user id>`` when the interaction belongs to an account (anonymous
history is attached to the account on login) and ``s<shopper uuid>`` otherwise; serving
builds the same key, so a shopper's live row lines up with the trained model.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, diags

from emotion.ml.labels import seconds_vector
from emotion.models import AffectSummary
from recommender.ml.affect import EMOTIONS, AffectSignal, adjust_confidence, shrunk_valence
from recommender.ml.cf import ALSParams, FactorModel, Popularity
from recommender.ml.evaluate import BLEND_STRENGTHS, BLEND_WEIGHTS, K
from recommender.ml.matrix import ConfidenceWeights, Event, InteractionMatrix, build_matrix
from recommender.ml.metrics import evaluate, holdout_split
from recommender.ml.tuning import tune_blend
from shop.models import Interaction

from . import store

logger = logging.getLogger(__name__)

VALIDATION_FRACTION = 0.2


def shopper_key(user_id: int | None, shopper_id: object) -> str:
    """The model's row id of a shopper: the account when known, else the session's id."""
    return f"u{user_id}" if user_id is not None else f"s{shopper_id}"


def als_params() -> ALSParams:
    return ALSParams(
        factors=settings.RECOMMENDER_ALS_FACTORS,
        regularization=settings.RECOMMENDER_ALS_REGULARIZATION,
        alpha=settings.RECOMMENDER_ALS_ALPHA,
        iterations=settings.RECOMMENDER_ALS_ITERATIONS,
    )


def _events() -> Iterator[Event]:
    rows = Interaction.objects.values_list("user_id", "shopper_id", "product_id", "kind", "dwell_seconds")
    for user_id, shopper_id, product_id, kind, dwell in rows.iterator(chunk_size=20_000):
        yield Event(shopper_key(user_id, shopper_id), product_id, kind, dwell)


def load_interactions(weights: ConfidenceWeights | None = None) -> InteractionMatrix:
    """Every logged interaction summed into one confidence per (shopper, product)."""
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


@dataclass(frozen=True)
class Trained:
    model: FactorModel
    metrics: dict[str, Any]


def _sample_rows(matrix: csr_matrix, max_rows: int, seed: int) -> csr_matrix:
    """Keep at most ``max_rows`` non-empty rows: tuning cost grows with validation users."""
    rows = np.flatnonzero(np.diff(matrix.indptr))
    if len(rows) <= max_rows:
        return matrix
    keep = np.zeros(matrix.shape[0])
    keep[np.random.default_rng(seed).choice(rows, max_rows, replace=False)] = 1
    sampled = csr_matrix(diags(keep) @ matrix)
    sampled.eliminate_zeros()
    return sampled


def fit(data: InteractionMatrix, signal: AffectSignal, seed: int = 0, num_threads: int = 1) -> Trained:
    """Tune the emotion blend on a validation split when enough shoppers reacted, then refit on all.

    With too few reacting shoppers to tell signal from noise, the blend tuned offline on the
    simulated shops (settings' prior) is kept, and ``blend.source`` says so; tuning that finds
    no significant gain sets the weight to 0, i.e. plain CF.
    """
    params = als_params()
    started = time.perf_counter()
    fit_part, validation = holdout_split(data.confidence, VALIDATION_FRACTION, seed)
    validation = _sample_rows(validation, settings.RECOMMENDER_MAX_TUNING_USERS, seed)
    tuning_signal = signal.without(validation)
    validation_users = np.flatnonzero(np.diff(validation.indptr))
    reacting = int(np.count_nonzero(np.diff(tuning_signal.reacted[validation_users].indptr)))
    if reacting >= settings.RECOMMENDER_MIN_TUNING_USERS:
        choice = tune_blend(
            fit_part,
            validation,
            tuning_signal,
            params,
            BLEND_STRENGTHS,
            BLEND_WEIGHTS,
            seed,
            K,
            num_threads=num_threads,
        )
        blend = {"strength": choice.strength, "weight": choice.weight, "source": "tuned"}
        validation_metrics = {
            "cf": _trial(choice.trials, 0.0, 0.0),
            "blend": _trial(choice.trials, choice.strength, choice.weight),
        }
    else:
        blend = {
            "strength": settings.RECOMMENDER_PRIOR_BLEND_STRENGTH,
            "weight": settings.RECOMMENDER_PRIOR_BLEND_WEIGHT,
            "source": f"prior (only {reacting} validation shoppers reacted)",
        }
        cf = FactorModel.train(fit_part, params, seed, num_threads)
        validation_metrics = {"cf": evaluate(cf, fit_part, validation, K).summary()}
    validation_metrics["popularity"] = evaluate(Popularity(fit_part), fit_part, validation, K).summary()
    tuned_seconds = time.perf_counter() - started

    started = time.perf_counter()
    confidence = adjust_confidence(data.confidence, signal.valence, blend["strength"])
    model = FactorModel.train(confidence, params, seed, num_threads)
    metrics = {
        "users": len(data.users),
        "items": len(data.items),
        "pairs": int(data.confidence.nnz),
        "reacted_pairs": int(signal.reacted.nnz),
        "params": asdict(params),
        "confidence_weights": asdict(ConfidenceWeights()),
        "blend": blend,
        "validation": validation_metrics,
        "seconds": {"tuning": round(tuned_seconds, 2), "training": round(time.perf_counter() - started, 2)},
    }
    return Trained(model, metrics)


def _trial(trials: list[dict[str, float]], strength: float, weight: float) -> dict[str, float]:
    return next(t for t in trials if t["strength"] == strength and t["weight"] == weight)


def train_and_publish(seed: int = 0, num_threads: int | None = None) -> tuple[str, dict[str, Any]]:
    """Train from the current database and publish a new version; returns (version, metrics)."""
    data = load_interactions()
    if data.confidence.nnz == 0:
        raise ValueError("no interactions logged yet: nothing to train on")
    trained = fit(data, load_reactions(data), seed, num_threads or settings.RECOMMENDER_TRAIN_THREADS)
    version = store.publish(
        Path(settings.RECOMMENDER_MODEL_DIR),
        trained.model,
        data.users,
        data.items,
        trained.metrics,
        settings.RECOMMENDER_KEEP_VERSIONS,
    )
    logger.info("Published recommender model %s: %s", version, trained.metrics["validation"])
    return version, trained.metrics
