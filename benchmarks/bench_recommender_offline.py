"""Benchmark: offline quality of the recommender engine (recommender/ml), seeded and reproducible.

(i)  CF on public data: popularity, ALS with the untuned reference settings, tuned ALS and tuned
     BPR on RetailRocket and MovieLens-100k (ratings >= 4), per-user 80/20 hold-out, tuned on a
     validation split carved from the training part.
(ii) The emotion blend on simulated shops: popularity, CF only, CF + blend, and CF + blend
     with the emotion labels shuffled, at the emotion classifier's confusion matrix, on four
     seeded shops; then, on the first, NDCG@10 against classifier accuracy from chance to
     perfect, and the gain at other browsing habits.

Targets: blend >= 10 % relative NDCG@10 over CF only; shuffled within 1 % of CF only (means over
the seeded shops).
Prints tables, writes benchmarks/results/recommender_offline.json and
benchmarks/results/recommender_emotion_accuracy.png. Usage:

    .venv/bin/python benchmarks/bench_recommender_offline.py [--confusion emotion/model/eval_publictest.json]
                                                             [--datasets /work/shared/datasets] [--seed 0]
"""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.ml.datasets import DATASETS_DIR, load_movielens, load_retailrocket  # noqa: E402
from recommender.ml.evaluate import EmotionBench, cf_benchmark  # noqa: E402
from recommender.ml.simulate import (  # noqa: E402
    ShopConfig,
    accuracy_ladder,
    load_confusion,
    mean_recall,
    simulate_shop,
    synthetic_confusion,
)

RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_CONFUSION = ROOT / "emotion" / "model" / "eval_publictest.json"
# Stand-in when the emotion model has not been evaluated yet: FER-like errors at a mean per-class
# recall typical of FER2013 CNNs (accuracy ~0.65-0.70, disgust and fear recalled worst).
FALLBACK_RECALL = 0.6
REFERENCE_NDCG = {
    "retailrocket": {"als": 0.076, "popularity": 0.012},
    "movielens-100k": {"als": 0.223, "popularity": 0.147},
}
TARGET_GAIN, TARGET_SHUFFLED = 0.10, 0.01
BROWSING_SENSITIVITY = (0.4, 1.0)
REPLICATES = 4  # simulated shops (seeds) behind the headline gain


def classifier(path: Path | None) -> tuple[NDArray[np.float64], str]:
    """The confusion matrix to simulate with, and where it came from."""
    path = path or DEFAULT_CONFUSION
    if path.exists():
        return load_confusion(path), str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    print(f"no classifier evaluation at {path}: using a synthetic FER-like confusion (mean recall {FALLBACK_RECALL})")
    return synthetic_confusion(FALLBACK_RECALL), f"synthetic (mean recall {FALLBACK_RECALL})"


def run_cf(datasets: Path, seed: int) -> dict[str, Any]:
    """Part (i): every CF model on both public data sets."""
    loaders = {
        "retailrocket": lambda: load_retailrocket(datasets / "retailrocket"),
        "movielens-100k": lambda: load_movielens(datasets / "movielens-100k" / "u.data"),
    }
    results = {}
    for name, load in loaders.items():
        start = time.perf_counter()
        results[name] = {**cf_benchmark(load().confidence, seed), "reference_ndcg": REFERENCE_NDCG[name]}
        results[name]["seconds"] = round(time.perf_counter() - start, 1)
    return results


def relative(value: float, base: float) -> float:
    """Relative change of ``value`` over ``base`` (0.1 means 10 % better)."""
    return value / base - 1.0 if base else 0.0


def run_emotion(confusion: NDArray[np.float64], seed: int) -> dict[str, Any]:
    """Part (ii): baselines, blend and shuffled blend at ``confusion`` on several seeded shops,
    then the accuracy sweep and the browsing sensitivity on the first one."""
    start = time.perf_counter()
    config = ShopConfig(seed=seed)
    bench = EmotionBench(simulate_shop(config), seed)
    results = headline(bench, confusion)
    replicates = [replicate_row(results, seed)]
    for other_seed in range(seed + 1, seed + REPLICATES):
        other = EmotionBench(simulate_shop(replace(config, seed=other_seed)), other_seed)
        replicates.append(replicate_row(headline(other, confusion), other_seed))
    gain = float(np.mean([row["relative_gain"] for row in replicates]))
    shuffled = float(np.mean([row["shuffled_relative_change"] for row in replicates]))
    sweep = []
    for label, matrix in accuracy_ladder(confusion):
        blend = results["blend"] if label == "real" else bench.blend(matrix)
        sweep.append({"classifier": label, "mean_recall": mean_recall(matrix), **_sweep_point(blend)})
    return {
        "shop": asdict(config),
        "cf_params": asdict(bench.params),
        "test": results,
        "replicates": replicates,
        "relative_gain_mean": gain,
        "shuffled_relative_change_mean": shuffled,
        "meets_gain_target": gain >= TARGET_GAIN,
        "meets_shuffled_target": abs(shuffled) <= TARGET_SHUFFLED,
        "accuracy_sweep": sweep,
        "browsing_sensitivity": browsing_sensitivity(confusion, config, seed),
        "seconds": round(time.perf_counter() - start, 1),
    }


def headline(bench: EmotionBench, confusion: NDArray[np.float64]) -> dict[str, Any]:
    """Popularity, CF only, CF + blend and CF + blend on shuffled emotions, on one shop."""
    results: dict[str, Any] = bench.baselines()
    results["blend"] = bench.blend(confusion)
    results["blend_shuffled"] = bench.blend(confusion, shuffle=True)
    return results


def replicate_row(results: dict[str, Any], seed: int) -> dict[str, float]:
    """One shop's NDCG@10 figures and the blend's relative changes over CF only."""
    cf, blend, shuffled = (results[name]["ndcg"] for name in ("cf", "blend", "blend_shuffled"))
    return {
        "seed": seed,
        "cf_ndcg": cf,
        "blend_ndcg": blend,
        "shuffled_ndcg": shuffled,
        "relative_gain": relative(blend, cf),
        "shuffled_relative_change": relative(shuffled, cf),
        "blend_strength": results["blend"]["strength"],
        "blend_weight": results["blend"]["weight"],
    }


def browsing_sensitivity(confusion: NDArray[np.float64], config: ShopConfig, seed: int) -> list[dict[str, float]]:
    """The blend's gain in shops where browsing follows taste less or more than by default."""
    rows = []
    for browsing in BROWSING_SENSITIVITY:
        bench = EmotionBench(simulate_shop(replace(config, taste_browsing=browsing)), seed)
        cf, blend = bench.baselines()["cf"]["ndcg"], bench.blend(confusion)["ndcg"]
        rows.append(
            {"taste_browsing": browsing, "cf_ndcg": cf, "blend_ndcg": blend, "relative_gain": relative(blend, cf)}
        )
    return rows


def _sweep_point(result: dict[str, Any]) -> dict[str, float]:
    """The chosen blend settings and headline metrics of one blend run."""
    return {key: result[key] for key in ("strength", "weight", "ndcg", "precision")}


def plot(emotion: dict[str, Any], path: Path) -> None:
    """NDCG@10 of the blend against classifier accuracy, with the classifier-free baselines."""
    sweep = emotion["accuracy_sweep"]
    x = [point["mean_recall"] for point in sweep]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.plot(x, [point["ndcg"] for point in sweep], "o-", label="CF + emotion blend")
    for point in sweep:
        ax.annotate(
            point["classifier"],
            (point["mean_recall"], point["ndcg"]),
            fontsize=7,
            xytext=(4, -10),
            textcoords="offset points",
        )
    ax.axhline(emotion["test"]["cf"]["ndcg"], color="grey", linestyle="--", label="CF only")
    ax.axhline(emotion["test"]["popularity"]["ndcg"], color="grey", linestyle=":", label="popularity")
    ax.set_xlim(0.05, 1.15)
    ax.set_xlabel("emotion classifier accuracy (mean per-class recall)")
    ax.set_ylabel("NDCG@10 on held-out purchases")
    ax.set_title("Simulated shop: value of emotions vs classifier accuracy")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def print_tables(cf: dict[str, Any], emotion: dict[str, Any], source: str) -> None:
    """Human-readable summary of the figures written to the JSON."""
    row = "{:<16} {:<15} {:>8} {:>8} {:>8} {:>9}"
    print("\n(i) CF on public data, per-user 80/20 hold-out, k=10")
    print(row.format("dataset", "model", "P@10", "R@10", "NDCG@10", "coverage"))
    for dataset, result in cf.items():
        for model, m in result["test"].items():
            print(row.format(dataset, model, *(f"{m[key]:.4f}" for key in ("precision", "recall", "ndcg", "coverage"))))
        print(f"{'':<16} reference NDCG@10: {result['reference_ndcg']}; tuned {result['tuned']}")
    cf_only = emotion["test"]["cf"]["ndcg"]
    print(f"\n(ii) emotion blend on the simulated shop (seed {emotion['shop']['seed']}), classifier: {source}")
    print(row.format("", "model", "P@10", "R@10", "NDCG@10", "coverage"))
    for model, m in emotion["test"].items():
        print(row.format("", model, *(f"{m[key]:.4f}" for key in ("precision", "recall", "ndcg", "coverage"))))
    print(
        f"\nreplicates (seeded shops), NDCG@10; targets: blend >= +{TARGET_GAIN:.0%}, "
        f"shuffled within {TARGET_SHUFFLED:.0%} of CF only"
    )
    for r in emotion["replicates"]:
        print(
            f"  seed {r['seed']}: CF {r['cf_ndcg']:.4f}  blend {r['blend_ndcg']:.4f} ({r['relative_gain']:+.1%})  "
            f"shuffled {r['shuffled_ndcg']:.4f} ({r['shuffled_relative_change']:+.1%})"
        )
    print(
        f"  mean: blend {emotion['relative_gain_mean']:+.1%}, shuffled {emotion['shuffled_relative_change_mean']:+.1%}"
    )
    print(f"\nclassifier accuracy sweep, seed {emotion['shop']['seed']} (blend NDCG@10; CF only {cf_only:.4f})")
    for point in emotion["accuracy_sweep"]:
        print(
            f"  {point['classifier']:<24} recall {point['mean_recall']:.2f}  NDCG@10 {point['ndcg']:.4f}  "
            f"strength {point['strength']:g} weight {point['weight']:g}"
        )
    print("\nsensitivity to how strongly browsing follows taste (default 0.7), real classifier")
    for point in emotion["browsing_sensitivity"]:
        print(
            f"  taste_browsing {point['taste_browsing']}: CF {point['cf_ndcg']:.4f} -> blend {point['blend_ndcg']:.4f}"
            f" ({point['relative_gain']:+.1%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confusion", type=Path, help=f"classifier evaluation JSON (default {DEFAULT_CONFUSION})")
    parser.add_argument("--datasets", type=Path, default=DATASETS_DIR)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    confusion, source = classifier(args.confusion)
    with threadpool_limits(1, "blas"):
        cf = run_cf(args.datasets, args.seed)
        emotion = run_emotion(confusion, args.seed)
    emotion["classifier"] = {"source": source, "mean_recall": mean_recall(confusion), "confusion": confusion.tolist()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / "recommender_emotion_accuracy.png"
    plot(emotion, png)
    result = {
        "benchmark": "recommender_offline",
        "seed": args.seed,
        "k": 10,
        "cf": cf,
        "emotion": emotion,
        "plot": str(png.relative_to(ROOT)),
        "seconds_total": round(time.perf_counter() - start, 1),
        "machine": {"cpus": os.cpu_count(), "threads_used": 1, "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (RESULTS / "recommender_offline.json").write_text(json.dumps(result, indent=2) + "\n")
    print_tables(cf, emotion, source)
    print(f"\ntotal {result['seconds_total']} s; wrote {RESULTS / 'recommender_offline.json'} and {png}")


if __name__ == "__main__":
    main()
