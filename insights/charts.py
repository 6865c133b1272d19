"""Chart geometry for the staff reports: numbers only, the templates draw.

Charts are server-side SVG (no JavaScript, no CDN), each backed by a table, so the pages
read well without scripts, in screen readers and when printed.
"""

from dataclasses import dataclass

from emotion.charts import COLOURS
from emotion.ml.labels import CLASSES

from .services import Bucket, EmotionMix, ViewingSecond

CHART_WIDTH, CHART_HEIGHT = 960, 200
SPARK_WIDTH, SPARK_HEIGHT = 80, 28


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


def share_bar(mix: EmotionMix, width: float = CHART_WIDTH) -> list[Rect]:
    """One horizontal bar split by each emotion's share of the reaction seconds."""
    rects, x = [], 0.0
    for stat in mix.emotions:
        if stat.share > 0:
            w = stat.share * width
            rects.append(Rect(x, 0, w, 24, COLOURS[stat.emotion], f"{stat.emotion}: {stat.share:.1%}"))
            x += w
    return rects


def stacked_columns(buckets: list[Bucket], hourly: bool) -> list[Rect]:
    """A stacked column per bucket, heights proportional to reaction seconds per emotion."""
    peak = max((b.total for b in buckets), default=0.0) or 1.0
    step = CHART_WIDTH / max(len(buckets), 1)
    label_format = "%Y-%m-%d %H:00" if hourly else "%Y-%m-%d"
    rects: list[Rect] = []
    for i, bucket in enumerate(buckets):
        y = float(CHART_HEIGHT)
        for emotion in CLASSES:
            seconds = bucket.seconds[emotion]
            if seconds <= 0:
                continue
            h = seconds / peak * CHART_HEIGHT
            y -= h
            title = f"{bucket.start.strftime(label_format)} {emotion}: {seconds:.0f}s"
            rects.append(Rect(i * step, y, max(step - 1, 0.5), h, COLOURS[emotion], title))
    return rects


def sparkline(values: list[float]) -> str:
    """SVG polyline points for a small trend line, scaled to its own peak."""
    if not values:
        return ""
    peak = max(values) or 1.0
    step = SPARK_WIDTH / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - v / peak * (SPARK_HEIGHT - 4):.1f}" for i, v in enumerate(values)
    )


@dataclass(frozen=True)
class Line:
    emotion: str
    colour: str
    points: str  # SVG polyline points


def viewing_lines(seconds: list[ViewingSecond], width: float = CHART_WIDTH, height: float = CHART_HEIGHT) -> list[Line]:
    """One line per emotion: the share of views showing it at each second of viewing (0 to 100 %)."""
    if not seconds:
        return []
    step = width / max(len(seconds) - 1, 1)
    return [
        Line(
            emotion,
            COLOURS[emotion],
            " ".join(f"{i * step:.1f},{height - s.share(emotion) * height:.1f}" for i, s in enumerate(seconds)),
        )
        for emotion in CLASSES
        if any(s.showing[emotion] for s in seconds)
    ]


# --- Experiment report ------------------------------------------------------------------------------

ARM_COLOURS = ("#1f77b4", "#ff7f0e")  # arm A, arm B
INTERVAL_ROW = 22


@dataclass(frozen=True)
class IntervalBar:
    """A rate as a bar from 0, its 95% interval as a whisker, on a shared scale."""

    y: float
    width: float
    low: float
    high: float
    colour: str
    title: str


def interval_bars(
    rates: list[tuple[str, float, float, float]], width: float = CHART_WIDTH
) -> tuple[list[IntervalBar], float]:
    """Bars for (title, rate, low, high), A and B alternating; returns them and the chart height."""
    peak = max((high for _, _, _, high in rates if high == high), default=0.0) or 1.0
    bars = []
    for k, (title, value, low, high) in enumerate(rates):
        if value != value:  # NaN: no data for this arm
            continue
        scale = width / peak
        bars.append(
            IntervalBar(
                k * INTERVAL_ROW,
                value * scale,
                max(low, 0.0) * scale,
                high * scale,
                ARM_COLOURS[k % 2],
                f"{title}: {value:.2%} (95% interval {low:.2%} to {high:.2%})",
            )
        )
    return bars, len(rates) * INTERVAL_ROW
