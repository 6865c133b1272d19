"""Choosing the engine on the shop's own interactions, and the training pipeline built on it.

Selection holds out each shopper's latest interactions (random ones when the data has no
timestamps), fits every candidate engine on the rest, ranks them by validation NDCG@k and
records every candidate's figures. The winner (possibly a blend of two of the three best
engine kinds) is then refitted on everything. A candidate that fails to fit is recorded with its
error and skipped; when none succeeds, or none beats popularity, a safe fallback is used.

``select_and_fit`` is the whole production path (nightly): selection, the emotion blend
tuned on top of the selected engine, the final fit. ``refit`` is the hourly path: the
engine and blend recorded by the last selection, refitted on the current data.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations, product
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, diags
from tqdm import tqdm

from recommender.ml.affect import AffectSignal, adjust_confidence
from recommender.ml.cf import ALSParams, BPRParams
from recommender.ml.engines import (
    BlendEngine,
    EASEParams,
    Engine,
    EngineSpec,
    HistoryScorer,
    KNNParams,
    PopularityEngine,
    fit_engine,
)
from recommender.ml.matrix import InteractionMatrix
from recommender.ml.metrics import UserScores, evaluate, holdout_split, time_split
from recommender.ml.tuning import tune_blend

K = 10
# Errors a candidate may raise while fitting without stopping the selection.
FIT_ERRORS = (np.linalg.LinAlgError, ValueError, MemoryError, RuntimeError)


def production_candidates(
    n_items: int, ease_max_items: int = 15_000, ease_dense_max_items: int = 4_096, ease_neighbours: int = 256
) -> tuple[EngineSpec, ...]:
    """The engines and hyper-parameters the shop's selection tries.

    EASE needs an n_items² Gram matrix and its inverse to fit: beyond ``ease_max_items`` it is
    not tried (the other engines remain); beyond ``ease_dense_max_items`` fewer λ are tried and
    the served matrix keeps ``ease_neighbours`` weights per item (scored pruned, as served).
    """
    specs: list[EngineSpec] = []
    if n_items <= ease_dense_max_items:
        for regularization in (50.0, 200.0, 800.0):
            specs.append(EngineSpec("ease", asdict(EASEParams(regularization, True, None))))
        specs.append(EngineSpec("ease", asdict(EASEParams(200.0, False, None))))
    elif n_items <= ease_max_items:
        # Each fit costs a Cholesky inversion of an n_items² matrix (about 40 s at 10k items on
        # two loaded cores): two λ for large catalogues, whose items have fewer users each.
        for regularization in (25.0, 100.0):
            specs.append(EngineSpec("ease", asdict(EASEParams(regularization, True, ease_neighbours))))
    for factors, regularization, alpha in product((32, 128), (1.0, 10.0, 30.0), (2.0, 8.0)):
        specs.append(EngineSpec("als", asdict(ALSParams(factors, regularization, alpha, 15))))
    for factors, learning_rate, iterations in ((64, 0.05, 100), (128, 0.01, 300)):
        specs.append(EngineSpec("bpr", asdict(BPRParams(factors, learning_rate, 0.01, iterations))))
    for neighbours in (50, 200):
        specs.append(EngineSpec("knn", asdict(KNNParams(neighbours, 10.0, True))))
    return tuple(specs)


@dataclass(frozen=True)
class Selection:
    """The chosen engine, why, and every candidate's validation figures."""

    spec: EngineSpec
    reason: str
    trials: list[dict[str, Any]]
    seconds: float
    fitted: Engine | None = field(default=None, repr=False)  # the winner fitted on the fit part

    def best_of(self, kind: str) -> EngineSpec | None:
        """The best successful candidate of one engine kind (e.g. for baselines or named models)."""
        scored = [t for t in self.trials if t["engine"]["kind"] == kind and "error" not in t]
        return EngineSpec.from_json(max(scored, key=lambda t: t["ndcg"])["engine"]) if scored else None


def _trial(spec: EngineSpec, scores: UserScores, seconds: float) -> dict[str, Any]:
    return {"engine": spec.to_json(), "label": spec.label, **scores.summary(), "seconds": round(seconds, 2)}


def select(
    fit: csr_matrix,
    validation: csr_matrix,
    candidates: Sequence[EngineSpec],
    fallback: EngineSpec,
    seed: int = 0,
    num_threads: int = 1,
    k: int = K,
    blend_weights: Sequence[float] = (0.25, 0.5, 0.75),
) -> Selection:
    """Fit each candidate on ``fit``, score it on ``validation``; return the best (blends included)."""
    started = time.perf_counter()
    popularity = PopularityEngine.fit(fit)
    trials = [_trial(popularity.spec, evaluate(HistoryScorer(popularity, fit), fit, validation, k), 0.0)]
    best_per_kind: dict[str, tuple[float, Engine]] = {}
    # A bar with an ETA on a terminal (train_recommender, evaluate_recommender); silent in logs.
    for spec in tqdm(candidates, desc="selecting engine", unit="candidate", disable=None, leave=False):
        began = time.perf_counter()
        try:
            engine = fit_engine(spec, fit, seed, num_threads)
            scores = evaluate(HistoryScorer(engine, fit), fit, validation, k)
        except FIT_ERRORS as exc:
            trials.append({"engine": spec.to_json(), "label": spec.label, "error": f"{type(exc).__name__}: {exc}"})
            continue
        trials.append(_trial(spec, scores, time.perf_counter() - began))
        ndcg = float(scores.ndcg.mean()) if len(scores.ndcg) else 0.0
        if spec.kind not in best_per_kind or ndcg > best_per_kind[spec.kind][0]:
            best_per_kind[spec.kind] = (ndcg, engine)
        del engine
    leaders = [engine for _, engine in sorted(best_per_kind.values(), key=lambda pair: -pair[0])[:3]]
    fitted: dict[str, Engine] = {}
    for first, second in combinations(leaders, 2):  # the three best kinds, pairwise
        for weight in blend_weights:
            began = time.perf_counter()
            blend = BlendEngine([first, second], [1.0 - weight, weight])
            scores = evaluate(HistoryScorer(blend, fit), fit, validation, k)
            trials.append(_trial(blend.spec, scores, time.perf_counter() - began))
            fitted[blend.spec.label] = blend
    scored = [t for t in trials if "error" not in t and t["engine"]["kind"] != "popularity"]
    if not scored:
        return Selection(fallback, "fallback: every candidate failed", trials, time.perf_counter() - started)
    best = max(scored, key=lambda t: t["ndcg"])
    if best["ndcg"] <= trials[0]["ndcg"]:
        reason = f"popularity: no candidate beat it on validation (best {best['label']} {best['ndcg']:.4f})"
        return Selection(popularity.spec, reason, trials, time.perf_counter() - started, popularity)
    spec = EngineSpec.from_json(best["engine"])
    winner = fitted.get(spec.label) if spec.kind == "blend" else best_per_kind[spec.kind][1]
    if winner is not None and winner.spec != spec:
        winner = None
    reason = f"best validation NDCG@{k} of {len(scored)} candidates"
    return Selection(spec, reason, trials, time.perf_counter() - started, winner)


def sample_rows(matrix: csr_matrix, max_rows: int, seed: int) -> csr_matrix:
    """Keep at most ``max_rows`` non-empty rows: validation cost grows with validation users."""
    rows = np.flatnonzero(np.diff(matrix.indptr))
    if len(rows) <= max_rows:
        return matrix
    keep = np.zeros(matrix.shape[0])
    keep[np.random.default_rng(seed).choice(rows, max_rows, replace=False)] = 1
    sampled = csr_matrix(diags(keep) @ matrix)
    sampled.eliminate_zeros()
    return sampled


def validation_split(
    confidence: csr_matrix, last_seen: csr_matrix | None, fraction: float, seed: int
) -> tuple[csr_matrix, csr_matrix, str]:
    """Each shopper's latest ``fraction`` when timestamps exist, a random ``fraction`` otherwise."""
    if last_seen is not None:
        return (*time_split(confidence, last_seen, fraction, seed), "time")
    return (*holdout_split(confidence, fraction, seed), "random")


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the production training path is parameterised by (built from settings)."""

    candidates: tuple[EngineSpec, ...]
    fallback: EngineSpec
    validation_fraction: float = 0.2
    max_validation_users: int = 2_000
    blend_weights: tuple[float, ...] = (0.25, 0.5, 0.75)
    affect_strengths: tuple[float, ...] = (0.0,)
    affect_weights: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
    min_affect_users: int = 50
    prior_blend: tuple[float, float] = (0.0, 0.0)
    k: int = K


@dataclass(frozen=True)
class Trained:
    engine: Engine
    metrics: dict[str, Any]


def _fit_scorer(spec: EngineSpec, seed: int, num_threads: int) -> Callable[[csr_matrix], HistoryScorer]:
    return lambda matrix: HistoryScorer(fit_engine(spec, matrix, seed, num_threads), matrix)


def _tune_affect(
    fit: csr_matrix,
    validation: csr_matrix,
    signal: AffectSignal,
    spec: EngineSpec,
    config: PipelineConfig,
    seed: int,
    num_threads: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The emotion blend on top of the selected engine, or the prior when too few shoppers reacted."""
    tuning_signal = signal.without(validation)
    users = np.flatnonzero(np.diff(validation.indptr))
    reacting = int(np.count_nonzero(np.diff(tuning_signal.reacted[users].indptr)))
    if reacting < config.min_affect_users:
        strength, weight = config.prior_blend
        source = f"prior (only {reacting} validation shoppers reacted)"
        return {"strength": strength, "weight": weight, "source": source}, {}
    choice = tune_blend(
        fit,
        validation,
        tuning_signal,
        _fit_scorer(spec, seed, num_threads),
        config.affect_strengths,
        config.affect_weights,
        k=config.k,
    )
    plain = next(t for t in choice.trials if t["strength"] == 0 and t["weight"] == 0)
    chosen = next(t for t in choice.trials if t["strength"] == choice.strength and t["weight"] == choice.weight)
    blend = {"strength": choice.strength, "weight": choice.weight, "source": "tuned"}
    return blend, {"engine": plain, "blend": chosen}


def _final_fit(
    data: InteractionMatrix,
    signal: AffectSignal,
    spec: EngineSpec,
    fallback: EngineSpec,
    strength: float,
    seed: int,
    num_threads: int,
) -> tuple[Engine, str | None]:
    """Fit ``spec`` on all data; the fallback engine if that fails (the error is returned)."""
    confidence = adjust_confidence(data.confidence, signal.valence, strength)
    try:
        return fit_engine(spec, confidence, seed, num_threads), None
    except FIT_ERRORS as exc:
        return fit_engine(fallback, confidence, seed, num_threads), f"{type(exc).__name__}: {exc}"


def _summary(data: InteractionMatrix, signal: AffectSignal) -> dict[str, Any]:
    return {
        "users": len(data.users),
        "items": len(data.items),
        "pairs": int(data.confidence.nnz),
        "reacted_pairs": int(signal.reacted.nnz),
    }


def select_and_fit(
    data: InteractionMatrix, signal: AffectSignal, config: PipelineConfig, seed: int = 0, num_threads: int = 1
) -> Trained:
    """The nightly path: select the engine on a validation hold-out, tune the emotion blend, fit on all."""
    started = time.perf_counter()
    fit_part, validation, split = validation_split(data.confidence, data.last_seen, config.validation_fraction, seed)
    validation = sample_rows(validation, config.max_validation_users, seed)
    if validation.nnz == 0:
        selection = Selection(config.fallback, "fallback: too little history for a validation split", [], 0.0)
    else:
        selection = select(
            fit_part, validation, config.candidates, config.fallback, seed, num_threads, config.k, config.blend_weights
        )
    selection_seconds = time.perf_counter() - started
    began = time.perf_counter()
    if validation.nnz and selection.spec.kind != "popularity":
        blend, affect_validation = _tune_affect(fit_part, validation, signal, selection.spec, config, seed, num_threads)
    else:
        blend, affect_validation = {"strength": 0.0, "weight": 0.0, "source": "no validation"}, {}
    affect_seconds = time.perf_counter() - began
    began = time.perf_counter()
    engine, error = _final_fit(data, signal, selection.spec, config.fallback, blend["strength"], seed, num_threads)
    metrics = {
        **_summary(data, signal),
        "engine": engine.spec.to_json(),
        "selection": {
            "engine": selection.spec.to_json(),
            "label": selection.spec.label,
            "reason": selection.reason if error is None else f"fallback after the final fit failed: {error}",
            "split": split,
            "validation_users": int(np.count_nonzero(np.diff(validation.indptr))),
            "fallback": config.fallback.to_json(),
            "candidates": selection.trials,
        },
        "blend": blend,
        "validation": affect_validation,
        "seconds": {
            "selection": round(selection_seconds, 2),
            "affect_tuning": round(affect_seconds, 2),
            "training": round(time.perf_counter() - began, 2),
        },
        "engine_megabytes": round(engine.nbytes() / 2**20, 1),
    }
    return Trained(engine, metrics)


def refit(
    data: InteractionMatrix,
    signal: AffectSignal,
    previous: dict[str, Any],
    fallback: EngineSpec,
    seed: int = 0,
    num_threads: int = 1,
) -> Trained:
    """The hourly path: refit the engine and blend a previous selection recorded (its ``metrics``)."""
    began = time.perf_counter()
    spec = EngineSpec.from_json(previous["selection"]["engine"])
    blend = dict(previous["blend"])
    engine, error = _final_fit(data, signal, spec, fallback, float(blend["strength"]), seed, num_threads)
    selection = dict(previous["selection"])
    if error is not None:
        selection["reason"] = f"fallback after the refit failed: {error}"
    metrics = {
        **_summary(data, signal),
        "engine": engine.spec.to_json(),
        "selection": selection,
        "blend": blend,
        "validation": previous.get("validation", {}),
        "refit_of": previous.get("version"),
        "seconds": {"training": round(time.perf_counter() - began, 2)},
        "engine_megabytes": round(engine.nbytes() / 2**20, 1),
    }
    return Trained(engine, metrics)
