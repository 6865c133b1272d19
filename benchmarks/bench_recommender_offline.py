"""Benchmark: offline quality of the recommender engine (recommender/ml), seeded and reproducible.

(i)  CF on public data: popularity, ALS with the untuned reference settings, tuned ALS and tuned
     BPR on RetailRocket and MovieLens-100k (ratings >= 4), per-user 80/20 hold-out, tuned on a
     validation split carved from the training part.
(ii) The emotion blend on the simulated shop: popularity, CF only, CF + blend, and CF + blend
     with the emotion labels shuffled, at the emotion classifier's confusion matrix; then NDCG@10
     against classifier accuracy from chance to perfect, and the gain at other browsing habits.

Targets: blend >= 10 % relative NDCG@10 over CF only; shuffled within 1 % of CF only.
Prints tables, writes benchmarks/results/recommender_offline.json and
benchmarks/results/recommender_emotion_accuracy.png. Usage:

    .venv/bin/python benchmarks/bench_recommender_offline.py [--confusion emotion/model/eval_publictest.json]
                                                             [--datasets /work/shared/datasets] [--seed 0]
"""

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
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


def classifier(path: Path | None) -> tuple[Any, str]:
    """The confusion matrix to simulate with, and where it came from."""
    path = path or DEFAULT_CONFUSION
    if path.exists():
        return load_confusion(path), str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    print(f"no classifier evaluation at {path}: using a synthetic FER-like confusion (mean recall {FALLBACK_RECALL})")
    return synthetic_confusion(FALLBACK_RECALL), f"synthetic (mean recall {FALLBACK_RECALL})"


def run_cf(datasets: Path, seed: int) -> dict[str, Any]:
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
    return value / base - 1.0 if base else 0.0


def run_emotion(confusion: Any, seed: int) -> dict[str, Any]:
    start = time.perf_counter()
    config = ShopConfig(seed=seed)
    bench = EmotionBench(simulate_shop(config), seed)
    results: dict[str, Any] = bench.baselines()
    results["blend"] = bench.blend(confusion)
    results["blend_shuffled"] = bench.blend(confusion, shuffle=True)
    cf = results["cf"]["ndcg"]
    gain = relative(results["blend"]["ndcg"], cf)
    shuffled = relative(results["blend_shuffled"]["ndcg"], cf)
    sweep = []
    for label, matrix in accuracy_ladder(confusion):
        blend = results["blend"] if label == "real" else bench.blend(matrix)
        sweep.append({"classifier": label, "mean_recall": mean_recall(matrix), **_brief(blend)})
    sensitivity = []
    for browsing in BROWSING_SENSITIVITY:
        other = EmotionBench(simulate_shop(replace(config, taste_browsing=browsing)), seed)
        other_cf = other.baselines()["cf"]
        other_blend = other.blend(confusion)
        sensitivity.append(
            {
                "taste_browsing": browsing,
                "cf_ndcg": other_cf["ndcg"],
                "blend_ndcg": other_blend["ndcg"],
                "relative_gain": relative(other_blend["ndcg"], other_cf["ndcg"]),
            }
        )
    return {
        "shop": asdict(config),
        "cf_params": asdict(bench.params),
        "test": results,
        "relative_gain": gain,
        "shuffled_relative_change": shuffled,
        "meets_gain_target": gain >= TARGET_GAIN,
        "meets_shuffled_target": abs(shuffled) <= TARGET_SHUFFLED,
        "accuracy_sweep": sweep,
        "browsing_sensitivity": sensitivity,
        "cf_only_ndcg": cf,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _brief(result: dict[str, Any]) -> dict[str, float]:
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
    ax.set_xlabel("emotion classifier accuracy (mean per-class recall)")
    ax.set_ylabel("NDCG@10 on held-out purchases")
    ax.set_title("Simulated shop: value of emotions vs classifier accuracy")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def print_tables(cf: dict[str, Any], emotion: dict[str, Any], source: str) -> None:
    row = "{:<16} {:<15} {:>8} {:>8} {:>8} {:>9}"
    print("\n(i) CF on public data, per-user 80/20 hold-out, k=10")
    print(row.format("dataset", "model", "P@10", "R@10", "NDCG@10", "coverage"))
    for dataset, result in cf.items():
        for model, m in result["test"].items():
            print(row.format(dataset, model, *(f"{m[key]:.4f}" for key in ("precision", "recall", "ndcg", "coverage"))))
        print(f"{'':<16} reference NDCG@10: {result['reference_ndcg']}; tuned {result['tuned']}")
    print(f"\n(ii) emotion blend on the simulated shop, classifier: {source}")
    print(row.format("", "model", "P@10", "R@10", "NDCG@10", "coverage"))
    for model, m in emotion["test"].items():
        print(row.format("", model, *(f"{m[key]:.4f}" for key in ("precision", "recall", "ndcg", "coverage"))))
    print(
        f"blend vs CF only: {emotion['relative_gain']:+.1%} (target >= +{TARGET_GAIN:.0%}); "
        f"shuffled vs CF only: {emotion['shuffled_relative_change']:+.1%} (target within {TARGET_SHUFFLED:.0%})"
    )
    print("\nclassifier accuracy sweep (blend NDCG@10; CF only {:.4f})".format(emotion["cf_only_ndcg"]))
    for point in emotion["accuracy_sweep"]:
        print(
            f"  {point['classifier']:<24} recall {point['mean_recall']:.2f}  NDCG@10 {point['ndcg']:.4f}  "
            f"strength {point['strength']:g} weight {point['weight']:g}"
        )
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
        "machine": {"cpus_used": 1, "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (RESULTS / "recommender_offline.json").write_text(json.dumps(result, indent=2) + "\n")
    print_tables(cf, emotion, source)
    print(f"\ntotal {result['seconds_total']} s; wrote {RESULTS / 'recommender_offline.json'} and {png}")


if __name__ == "__main__":
    main()
