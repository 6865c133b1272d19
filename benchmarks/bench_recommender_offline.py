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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.ml.datasets import DATASETS_DIR  # noqa: E402
from recommender.ml.evaluate import (  # noqa: E402
    DEFAULT_CONFUSION,
    TARGET_GAIN,
    TARGET_SHUFFLED,
    classifier,
    run_cf,
    run_emotion,
)
from recommender.ml.simulate import mean_recall  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


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
