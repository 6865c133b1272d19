"""Chart geometry for the emotion staff pages: numbers only, the templates draw server-side SVG.

No JavaScript and no inline style (the site's CSP allows neither): colours travel as SVG
presentation attributes. The emotion colours live here, the app that owns the classes, and
the insights reports use the same ones.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

# One colour per emotion, used by every chart and legend (colour-blind-friendly Tableau palette).
COLOURS: dict[str, str] = {
    "angry": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happy": "#2ca02c",
    "sad": "#1f77b4",
    "surprise": "#ff7f0e",
    "neutral": "#a0a0a0",
}


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    segments: tuple[str, ...]  # SVG polyline points each; a gap in the data starts a new segment


@dataclass(frozen=True)
class Tick:
    at: float  # position along the axis, in chart pixels
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    series: tuple[Series, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]

    @property
    def view_box(self) -> str:
        return f"-48 -8 {self.width + 56} {self.height + 28}"


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _label(value: float, step: float) -> str:
    if value == 0:
        return "0"
    if step >= 1:
        return f"{value:.0f}"
    if abs(value) < 1e-3 and value != 0:
        return f"{value:.1e}"
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{value:.{decimals}f}"


def line_chart(
    title: str,
    x: Sequence[float],
    series: dict[str, tuple[str, Sequence[float | None]]],
    *,
    width: int = 440,
    height: int = 160,
) -> LineChart | None:
    """Lines over a shared x axis (epochs), y scaled to the data with round ticks; None with no data.

    ``series`` maps a name to (colour, values); a value of None (a figure the run did not
    record) breaks its line instead of being drawn as zero.
    """
    values = [v for _, ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    if not x or not values:
        return None
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - (abs(lo) or 1) * 0.05, hi + (abs(hi) or 1) * 0.05
    step = _nice_step(hi - lo, 4)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    x_lo, x_hi = min(x), max(x)
    x_span = (x_hi - x_lo) or 1.0

    def px(xv: float) -> float:
        return (xv - x_lo) / x_span * width

    def py(yv: float) -> float:
        return height - (yv - lo) / (hi - lo) * height

    drawn = []
    for name, (colour, ys) in series.items():
        segments, current = [], []
        for xv, yv in zip(x, ys, strict=True):
            if yv is None or not math.isfinite(yv):
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            current.append(f"{px(xv):.1f},{py(yv):.1f}")
        if current:
            segments.append(" ".join(current))
        if segments:
            drawn.append(Series(name, colour, tuple(segments)))
    y_ticks = tuple(Tick(py(lo + i * step), _label(lo + i * step, step)) for i in range(round((hi - lo) / step) + 1))
    x_step = max(1, math.ceil(x_span / 8))
    first = math.ceil(x_lo)
    x_ticks = tuple(Tick(px(v), f"{v:g}") for v in range(int(first), int(x_hi) + 1, x_step))
    return LineChart(title, width, height, tuple(drawn), y_ticks, x_ticks)
