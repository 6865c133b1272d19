"""The production path against the simple baselines on any interaction data, with intervals.

For each split (random: a random 20 % of each user's items; time: each user's latest 20 %,
when the data has timestamps) and each seed, the test pairs leave the data entirely; the
production pipeline (``selection.select_and_fit``: selection on a validation hold-out of the
training part, refit on all of it) then runs on the rest exactly as the shop runs it, and is
scored on the test pairs beside:

- popularity;
- untuned ALS (implicit's defaults scale: 64 factors, regularization 0.01, α 1, 15 iterations);
- tuned ALS: the best ALS candidate of that same selection, refitted on the training part;
- EASE: dense, with the λ of the best EASE candidate of that same selection, refitted.

Figures are means over seeds with 95 % t-intervals, and the production path's relative NDCG
difference to each baseline is paired per seed.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
from scipy import stats
from scipy.sparse import csr_matrix

from recommender.ml.affect import AffectSignal
from recommender.ml.cf import ALSParams
from recommender.ml.engines import EASEParams, EngineSpec, HistoryScorer, fit_engine
from recommender.ml.matrix import InteractionMatrix
from recommender.ml.metrics import evaluate, holdout_split, time_split
from recommender.ml.selection import K, PipelineConfig, select_and_fit

TEST_FRACTION = 0.2
METRICS = ("ndcg", "precision", "recall", "map", "coverage", "novelty")
UNTUNED_ALS = EngineSpec("als", asdict(ALSParams(factors=64, regularization=0.01, alpha=1.0, iterations=15)))
MODELS = ("production", "popularity", "als_untuned", "als_tuned", "ease")


def interval(values: Sequence[float]) -> dict[str, float]:
    """Mean and 95 % t-interval half-width over seeds."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return {"mean": float(array.mean()), "ci95": float("nan"), "n": len(array)}
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / np.sqrt(len(array))
    return {"mean": float(array.mean()), "ci95": float(half), "n": len(array)}


def _silent(shape: tuple[int, int]) -> AffectSignal:
    empty = np.empty(0, dtype=np.int64)
    return AffectSignal.from_pairs(empty, empty, np.empty(0), shape, np.zeros(shape[1], dtype=np.int64))


def _train_part(data: InteractionMatrix, train: csr_matrix) -> InteractionMatrix:
    last_seen = None
    if data.last_seen is not None:
        last_seen = csr_matrix(data.last_seen.multiply(train.astype(bool)))
        last_seen.eliminate_zeros()
    return InteractionMatrix(train, data.users, data.items, last_seen)


def run_split(
    data: InteractionMatrix, split: str, seed: int, config: PipelineConfig, num_threads: int = 1
) -> dict[str, Any]:
    """One seed of one split: the production path and every baseline on the same test pairs."""
    if split == "time":
        if data.last_seen is None:
            raise ValueError("a time-based split needs timestamps")
        train, test = time_split(data.confidence, data.last_seen, TEST_FRACTION, seed)
    else:
        train, test = holdout_split(data.confidence, TEST_FRACTION, seed)
    started = time.perf_counter()
    trained = select_and_fit(_train_part(data, train), _silent(train.shape), config, seed, num_threads)
    production_seconds = time.perf_counter() - started
    selection = trained.metrics["selection"]
    trials = [t for t in selection["candidates"] if "error" not in t]

    def best(kind: str) -> EngineSpec | None:
        scored = [t for t in trials if t["engine"]["kind"] == kind]
        return EngineSpec.from_json(max(scored, key=lambda t: t["ndcg"])["engine"]) if scored else None

    baselines: dict[str, EngineSpec | None] = {
        "popularity": EngineSpec("popularity"),
        "als_untuned": UNTUNED_ALS,
        "als_tuned": best("als"),
        "ease": None,
    }
    ease = best("ease")
    if ease is not None:
        dense = replace(EASEParams(**ease.params), neighbours=None)
        baselines["ease"] = EngineSpec("ease", asdict(dense))
    engines: dict[str, Callable[[], Any]] = {"production": lambda: trained.engine}
    results: dict[str, Any] = {}
    for name, spec in baselines.items():
        if spec is None:
            continue
        if spec == trained.engine.spec:
            engines[name] = engines["production"]
        else:
            engines[name] = lambda spec=spec: fit_engine(spec, train, seed, num_threads)
    for name, make in engines.items():
        engine = make()
        summary = evaluate(HistoryScorer(engine, train), train, test, K).summary()
        results[name] = {**summary, "engine": engine.spec.label}
    return {
        "split": split,
        "seed": seed,
        "train_pairs": int(train.nnz),
        "test_pairs": int(test.nnz),
        "selected": selection["label"],
        "selection_reason": selection["reason"],
        "production_seconds": round(production_seconds, 1),
        "candidates": [
            {key: t.get(key) for key in ("label", "ndcg", "recall", "coverage", "seconds", "error")}
            for t in selection["candidates"]
        ],
        "test": results,
    }


def compare(
    data: InteractionMatrix,
    config: PipelineConfig,
    seeds: Sequence[int],
    splits: Sequence[str] | None = None,
    num_threads: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every split and seed, then means, intervals and paired differences per split."""
    splits = list(splits) if splits else (["random", "time"] if data.last_seen is not None else ["random"])
    runs = []
    for split in splits:
        for seed in seeds:
            run = run_split(data, split, seed, config, num_threads)
            runs.append(run)
            if progress is not None:
                progress(run)
    meta = {
        "users": len(data.users),
        "items": len(data.items),
        "pairs": int(data.confidence.nnz),
        "timestamps": data.last_seen is not None,
    }
    return summarise(meta, runs)


def summarise(meta: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means, intervals and paired differences per split over ``runs`` (also to merge parallel runs)."""
    splits = list(dict.fromkeys(run["split"] for run in runs))
    summary: dict[str, Any] = {}
    for split in splits:
        own = [run for run in runs if run["split"] == split]
        models = [m for m in MODELS if all(m in run["test"] for run in own)]
        table = {m: {metric: interval([run["test"][m][metric] for run in own]) for metric in METRICS} for m in models}
        paired = {}
        for baseline in models:
            if baseline == "production":
                continue
            gains = [run["test"]["production"]["ndcg"] / run["test"][baseline]["ndcg"] - 1.0 for run in own]
            paired[baseline] = interval(gains)
        summary[split] = {"models": table, "production_ndcg_relative_to": paired, "seeds": len(own)}
    return {
        **meta,
        "k": K,
        "test_fraction": TEST_FRACTION,
        "summary": summary,
        "runs": runs,
    }


def table(result: dict[str, Any], name: str) -> str:
    """The summary as a Markdown table (mean ± 95 % half-width over seeds)."""
    lines = [
        "| data | split | model | NDCG@10 | P@10 | R@10 | MAP@10 | coverage | novelty |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for split, part in result["summary"].items():
        for model, figures in part["models"].items():
            cells = [f"{figures[m]['mean']:.4f} ± {figures[m]['ci95']:.4f}" for m in METRICS[:5]]
            cells.append(f"{figures['novelty']['mean']:.2f} ± {figures['novelty']['ci95']:.2f}")
            label = f"**{model}**" if model == "production" else model
            lines.append(f"| {name} | {split} ({part['seeds']} seeds) | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
