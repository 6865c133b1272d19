"""Figures of the experiment report page and its CSV, from ``recommender.experiments.report``.

The statistics are computed by ``recommender.ml.experiments`` (tested, and checked on
simulated traffic by benchmarks/bench_experiments.py); this module only lays them out.
"""

import math
from dataclasses import dataclass

import pandas as pd

from recommender.experiments import Report
from recommender.ml.experiments import Analysis, Comparison

METRIC_NAMES = {"clicks": "Click-through", "carts": "Add-to-cart", "purchases": "Purchase"}
UNIT_NAMES = {"per_impression": "per impression", "per_shopper": "per shopper"}
SEGMENTS = (("everyone", "Everyone"), ("triggered", "Shoppers with emotion data (triggered)"))


@dataclass(frozen=True)
class Row:
    segment: str
    metric: str
    unit: str
    comparison: Comparison

    @property
    def label(self) -> str:
        return f"{METRIC_NAMES[self.metric]} {UNIT_NAMES[self.unit]}"


def rows(report: Report) -> list[Row]:
    """One row per segment, metric and unit (A/B only: interleaving has a preference instead)."""
    out = []
    for segment, _ in SEGMENTS:
        analysis: Analysis = getattr(report, segment)
        for metric in analysis.metrics:
            for unit in UNIT_NAMES:
                out.append(Row(segment, metric.metric, unit, getattr(metric, unit)))
    return out


def _round(value: float, digits: int = 6) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def csv_frame(report: Report) -> pd.DataFrame:
    """The report as one table: a row per segment × metric × unit, or the preference rows for interleaving."""
    experiment = report.experiment
    base = {
        "experiment": experiment.name,
        "design": experiment.design,
        "arm_a": experiment.arm_label(0),
        "arm_b": experiment.arm_label(1),
        "simulated": experiment.simulated,
    }
    records = []
    for row in rows(report):
        c = row.comparison
        records.append(
            base
            | {
                "segment": row.segment,
                "metric": row.metric,
                "unit": row.unit,
                "a_rate": _round(c.a.value),
                "a_low": _round(c.a.low),
                "a_high": _round(c.a.high),
                "b_rate": _round(c.b.value),
                "b_low": _round(c.b.low),
                "b_high": _round(c.b.high),
                "lift": _round(c.lift),
                "lift_low": _round(c.lift_low),
                "lift_high": _round(c.lift_high),
                "p_value": _round(c.p_value, 8),
            }
        )
    for segment, _ in SEGMENTS:
        preference = getattr(report, segment).preference
        if preference is not None:
            records.append(
                base
                | {
                    "segment": segment,
                    "metric": "interleaving_preference",
                    "unit": "per shopper",
                    "b_rate": _round(preference.delta),
                    "b_low": _round(preference.low),
                    "b_high": _round(preference.high),
                    "p_value": _round(preference.p_value, 8),
                }
            )
    return pd.DataFrame.from_records(records)
