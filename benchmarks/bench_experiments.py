"""Benchmark: are the online-experiment statistics right? Simulated shoppers, the real experiment code.

The shoppers are simulated (recommender.ml.simulate: Traffic, Lists); everything else is what
the shop runs: the assignment hash, team-draft interleaving and the analysis of
recommender.ml.experiments. Three checks:

1. A/A: both arms identical, ``--runs`` experiments: the share with p < 0.05 on each metric
   (should be 5%; the goal is 3.5% to 6.5%), the interleaving preference likewise, and the
   sample-ratio-mismatch alarm rate (should be 0.1%).
2. Power: a planted lift of known size; the sample size ``required_shoppers`` plans for 80%
   power; the share of ``--runs`` experiments of that size that detect it (goal 80 ± 5 points).
3. Interleaving against A/B: the same shoppers' click model, arm B ranking with less noise;
   power against shoppers for both designs, the shoppers each needs for 80% power, and the ratio.

Writes benchmarks/results/experiments.json and experiments.png:

    nice -n 10 .venv/bin/python benchmarks/bench_experiments.py [--runs 1000]
"""

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import RESULTS, write_result  # noqa: E402
from recommender.ml import experiments as ex  # noqa: E402
from recommender.ml.simulate import Lists, Traffic, ab_lists, ab_traffic, interleaved_lists, per_shopper_click_rates  # noqa: E402

AA_SHOPPERS = 4_000
PLANTED_LIFT = 0.2  # on every shopper's click propensity
GRID = (125, 250, 500, 1_000, 2_000, 4_000, 8_000)


def share_interval(hits: int, runs: int) -> dict[str, float]:
    """A share with its Wilson 95% interval."""
    p, z = hits / runs, 1.959964
    centre = (p + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return {"share": round(p, 4), "low": round(centre - half, 4), "high": round(centre + half, 4), "runs": runs}


def aa(runs: int, rng: np.random.Generator) -> tuple[dict[str, Any], list[float]]:
    traffic = Traffic()
    rejections: dict[str, int] = {}
    srm = 0
    p_values: list[float] = []
    for run in range(runs):
        table = ab_traffic(traffic, AA_SHOPPERS, 0.0, f"aa-{run}", 0.5, rng)
        for segment, analysis in (
            ("everyone", ex.analyse(table, 0.5)),
            ("triggered", ex.analyse(table.subset(table.triggered), 0.5)),
        ):
            for metric in analysis.metrics:
                for unit, comparison in (
                    ("per_impression", metric.per_impression),
                    ("per_shopper", metric.per_shopper),
                ):
                    name = f"{segment}/{metric.metric}/{unit}"
                    rejections[name] = rejections.get(name, 0) + int(comparison.p_value < ex.ALPHA)
                    if name == "everyone/clicks/per_impression":
                        p_values.append(comparison.p_value)
            if segment == "everyone":
                srm += int(analysis.sample_ratio is not None and analysis.sample_ratio.mismatch)
    interleaving = 0
    same = Lists(noise_a=0.5, noise_b=0.5)
    for _ in range(runs):
        preference = ex.analyse(interleaved_lists(same, 1_000, rng), 0.5).preference
        interleaving += int(preference is not None and preference.p_value < ex.ALPHA)
    return {
        "shoppers_per_run": AA_SHOPPERS,
        "false_positive_rate": {name: share_interval(hits, runs) for name, hits in rejections.items()},
        "interleaving_false_positive_rate": share_interval(interleaving, runs) | {"shoppers_per_run": 1_000},
        "sample_ratio_alarm_rate": share_interval(srm, runs) | {"threshold": ex.SRM_ALPHA},
    }, p_values


def power(runs: int, rng: np.random.Generator) -> dict[str, Any]:
    traffic = Traffic(triggered_share=1.0)
    rate_a, rate_b = per_shopper_click_rates(traffic, PLANTED_LIFT, rng)
    planned = ex.required_shoppers(rate_a, rate_b / rate_a - 1)
    detected = 0
    for run in range(runs):
        analysis = ex.analyse(ab_traffic(traffic, planned, PLANTED_LIFT, f"power-{run}", 0.5, rng), 0.5)
        clicks = analysis.metrics[0].per_shopper
        detected += int(clicks.p_value < ex.ALPHA and clicks.difference > 0)
    return {
        "planted_lift_on_propensity": PLANTED_LIFT,
        "per_shopper_click_rate": {"a": round(rate_a, 5), "b": round(rate_b, 5), "lift": round(rate_b / rate_a - 1, 4)},
        "planned_power": 0.8,
        "planned_shoppers": planned,
        "detected": share_interval(detected, runs),
    }


def needed_for(powers: list[float], target: float = 0.8) -> float | None:
    """Shoppers at which power crosses ``target``, interpolated in log(shoppers)."""
    for (n0, p0), (n1, p1) in zip(zip(GRID, powers, strict=True), zip(GRID[1:], powers[1:], strict=True), strict=False):
        if p0 < target <= p1:
            t = (target - p0) / (p1 - p0)
            return float(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))))
    return None


def designs(runs: int, rng: np.random.Generator) -> dict[str, Any]:
    lists = Lists()
    curves: dict[str, list[float]] = {"ab": [], "interleaving": []}
    for shoppers in GRID:
        ab_hits = il_hits = 0
        for run in range(runs):
            clicks = ex.analyse(ab_lists(lists, shoppers, f"ab-{shoppers}-{run}", rng), 0.5).metrics[0].per_impression
            ab_hits += int(clicks.p_value < ex.ALPHA and clicks.difference > 0)
            preference = ex.analyse(interleaved_lists(lists, shoppers, rng), 0.5).preference
            assert preference is not None
            il_hits += int(preference.p_value < ex.ALPHA and preference.delta > 0)
        curves["ab"].append(ab_hits / runs)
        curves["interleaving"].append(il_hits / runs)
        print(f"  {shoppers:>6} shoppers: A/B {curves['ab'][-1]:.2f}, interleaving {curves['interleaving'][-1]:.2f}")
    need = {name: needed_for(values) for name, values in curves.items()}
    ratio = need["ab"] / need["interleaving"] if need["ab"] and need["interleaving"] else None
    return {
        "click_model": vars(lists),
        "shoppers": list(GRID),
        "runs_per_point": runs,
        "power": curves,
        "shoppers_for_80pct_power": {k: round(v) if v else None for k, v in need.items()},
        "ab_over_interleaving": round(ratio, 2) if ratio else None,
    }


def plot(p_values: list[float], result: dict[str, Any], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.hist(p_values, bins=20, range=(0, 1), color="#1f77b4", edgecolor="white")
    left.axhline(len(p_values) / 20, color="black", linestyle="--", linewidth=1, label="uniform")
    fpr = result["aa"]["false_positive_rate"]["everyone/clicks/per_impression"]["share"]
    left.set_title(f"A/A: p-values of click-through per impression\n{len(p_values)} runs, p < 0.05 in {fpr:.1%}")
    left.set_xlabel("p-value")
    left.legend()
    designs_ = result["designs"]
    for name, colour in (("ab", "#d62728"), ("interleaving", "#2ca02c")):
        right.plot(designs_["shoppers"], designs_["power"][name], marker="o", color=colour, label=name)
    right.axhline(0.8, color="black", linestyle="--", linewidth=1)
    right.set_xscale("log")
    right.set_xlabel("shoppers in the experiment")
    right.set_ylabel("power (share of runs detecting B > A)")
    right.set_title(f"Interleaving vs A/B: {designs_['ab_over_interleaving']}x fewer shoppers at 80% power")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000, help="experiments per A/A and power check")
    parser.add_argument("--design-runs", type=int, default=300, help="experiments per point of the power curves")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print("A/A ...")
    aa_result, p_values = aa(args.runs, rng)
    print("power ...")
    power_result = power(args.runs, rng)
    print("interleaving against A/B ...")
    designs_result = designs(args.design_runs, rng)
    result = {
        "simulated": True,
        "alpha": ex.ALPHA,
        "aa": aa_result,
        "power": power_result,
        "designs": designs_result,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_result("experiments", result)
    plot(p_values, result, RESULTS / "experiments.png")


if __name__ == "__main__":
    main()
