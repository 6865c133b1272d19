"""Benchmark: the emotion blend's honest lift over the strongest camera-free system (simulated shops).

On each of 10 seeded shops (recommender.ml.emotion_lift): the engine selected as the shop
selects it, the camera-free system (engine + category re-ranker fed by dwell time), and the
emotion system on top of it, for faces that track purchase taste at correlation 0, 0.4, 0.7
and 1, with 10 %, 30 % and 100 % of shoppers consenting, read by the classifier the worker
serves (plain, no test-time augmentation: its PublicTest confusion) with per-shopper
correlated errors and missed faces. Beside it, at full correlation and consent: a perfect
classifier, and the served one with independent errors (what the old simulator assumed).
Controls: shuffled emotions at the weight the real signal earned (forced), and how often
the gate accepts an emotion weight when the face carries nothing (false-positive rate).

Writes benchmarks/results/recommender_emotion_lift.json and recommender_emotion_lift.png:

    .venv/bin/python benchmarks/bench_emotion_lift.py [--seeds 10] [--confusion FILE]
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_result  # noqa: E402
from recommender.ml.comparison import interval  # noqa: E402
from recommender.ml.emotion_lift import Classifier, run  # noqa: E402
from recommender.ml.simulate import ShopConfig, load_confusion, mean_recall  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PLAIN = RESULTS / "emotion_eval_publictest_plain.json"  # manage.py evaluate_emotion_model without --tta
TTA = ROOT / "emotion" / "model" / "eval_publictest.json"
CORRELATIONS = (0.0, 0.4, 0.7, 1.0)
CONSENTS = (0.1, 0.3, 1.0)
# Per-shopper error correlation: each shopper's confusion rows ~ Dirichlet(10 · served row).
CONCENTRATION = 10.0
# Seconds with no face found: BlazeFace's recall on scikit-image's faces is 0.90 (face_detector.json).
MISS_RATE = 0.10


def _cell(rows: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    own = [row for row in rows if keep(row)]
    return {
        "seeds": len(own),
        "gain_vs_camera_free": interval([row["gain_vs_camera_free"] for row in own]),
        "gain_vs_engine": interval([row["gain_vs_engine"] for row in own]),
        "camera_free_vs_engine": interval([row["camera_free_ndcg"] / row["engine_ndcg"] - 1 for row in own]),
        "emotion_ndcg": interval([row["emotion_ndcg"] for row in own]),
        "camera_free_ndcg": interval([row["camera_free_ndcg"] for row in own]),
        "engine_ndcg": interval([row["engine_ndcg"] for row in own]),
        "accepted_share": float(np.mean([row["accepted"] for row in own])),
        "forced_real_change": interval([row["forced_real_change"] for row in own]),
        "forced_shuffled_change": interval([row["forced_shuffled_change"] for row in own]),
        "shuffled_accepted_share": float(np.mean([row["shuffled_accepted"] for row in own])),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    grid = [
        {
            "correlation": c,
            "consent": s,
            **_cell(rows, lambda r, c=c, s=s: r["grid"] and (r["correlation"], r["consent"]) == (c, s)),
        }
        for c in CORRELATIONS
        for s in CONSENTS
    ]
    classifiers = sorted({row["classifier"] for row in rows})
    at_full = {
        name: _cell(rows, lambda r, name=name: r["classifier"] == name and r["correlation"] == 1 and r["consent"] == 1)
        for name in classifiers
    }
    gate = {
        "false_positive_rate_no_signal": float(np.mean([r["accepted"] for r in rows if r["correlation"] == 0])),
        "false_positive_rate_shuffled": float(np.mean([r["shuffled_accepted"] for r in rows])),
        "conditions_no_signal": sum(1 for r in rows if r["correlation"] == 0),
        "conditions_shuffled": len(rows),
        "rule": "emotion weight kept when its paired per-user NDCG gain over camera-free exceeds 2 standard errors",
    }
    return {"grid": grid, "classifiers_at_full_correlation_and_consent": at_full, "gate": gate}


def plot(summary: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for consent in CONSENTS:
        cells = [cell for cell in summary["grid"] if cell["consent"] == consent]
        means = [100 * cell["gain_vs_camera_free"]["mean"] for cell in cells]
        errors = [100 * cell["gain_vs_camera_free"]["ci95"] for cell in cells]
        ax.errorbar(CORRELATIONS, means, yerr=errors, marker="o", capsize=3, label=f"{consent:.0%} consent")
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_xlabel("correlation of the face with purchase taste")
    ax.set_ylabel("NDCG@10 gain over the camera-free system (%)")
    ax.set_title("Emotion lift, served classifier (no TTA), 95 % intervals")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--confusion", type=Path, default=PLAIN, help="the served classifier's evaluation JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    served = load_confusion(args.confusion)
    grid_classifier = Classifier("served (plain), correlated errors, missed faces", served, CONCENTRATION, MISS_RATE)
    others = [
        Classifier("perfect", np.eye(len(served)), None, 0.0),
        Classifier("served (plain), independent errors, no misses", served, None, 0.0),
        Classifier("TTA (not served), independent errors, no misses", load_confusion(TTA), None, 0.0),
    ]
    with threadpool_limits(1, "blas"):
        rows = run(ShopConfig(), range(args.seeds), grid_classifier, others, CORRELATIONS, CONSENTS)
    summary = summarise(rows)
    png = RESULTS / "recommender_emotion_lift.png"
    plot(summary, png)
    write_result(
        "recommender_emotion_lift",
        {
            "benchmark": "emotion blend lift over the strongest camera-free system, simulated shops",
            "shop": ShopConfig().__dict__,
            "seeds": args.seeds,
            "classifier": {
                "served": str(args.confusion.relative_to(ROOT)),
                "served_mean_recall": mean_recall(served),
                "error_concentration": CONCENTRATION,
                "miss_rate": MISS_RATE,
            },
            "summary": summary,
            "rows": rows,
            "plot": str(png.relative_to(ROOT)),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    for cell in summary["grid"]:
        gain = cell["gain_vs_camera_free"]
        print(
            f"correlation {cell['correlation']:.1f} consent {cell['consent']:>4.0%}: "
            f"{gain['mean']:+.1%} ± {gain['ci95']:.1%}  accepted {cell['accepted_share']:.0%}"
        )
    for name, cell in summary["classifiers_at_full_correlation_and_consent"].items():
        print(f"{name}: {cell['gain_vs_camera_free']['mean']:+.1%} ± {cell['gain_vs_camera_free']['ci95']:.1%}")
    print(summary["gate"])


if __name__ == "__main__":
    main()
