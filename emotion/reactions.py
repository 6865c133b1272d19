"""Turning a view's stream of per-frame emotion labels into reaction-duration events.

Pure functions (no Django), so the rules are easy to test. The rules, in order:

1. A frame counts only if a face was found with confidence >= ``min_confidence``;
   other frames are gaps (the shopper looked away, or the classifier was unsure).
2. Consecutive counted frames with the same label form a run. A run shorter than
   ``min_frames`` frames is a flicker: it is dropped, and if the runs on both sides of it
   have the same label they merge (``happy happy SAD happy happy`` is one happy event).
3. An event is split where two of its frames are more than ``max_gap`` seconds apart
   (the shopper looked away, the tab was hidden, or the product left the screen).
4. Each frame stands for one frame period (the view's median frame spacing, at most
   ``max_gap``), so an event lasts from its first frame to one period after its last;
   the view's end closes its last event.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median


@dataclass(frozen=True)
class Frame:
    at: datetime
    label: str | None  # None: no face found
    confidence: float = 0.0


@dataclass(frozen=True)
class Reaction:
    emotion: str
    start: datetime
    end: datetime
    frames: int
    mean_confidence: float

    @property
    def duration(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Rules:
    min_frames: int = 2
    min_confidence: float = 0.35
    max_gap: float = 2.0  # seconds
    default_period: float = 0.5  # seconds per frame when a view has a single frame (2 frames/s)


def frame_period(frames: Sequence[Frame], rules: Rules) -> float:
    """Seconds one frame stands for: the median spacing of the view's frames, capped by max_gap."""
    gaps = [(b.at - a.at).total_seconds() for a, b in pairwise(frames)]
    gaps = [g for g in gaps if g > 0]
    return min(median(gaps), rules.max_gap) if gaps else rules.default_period


def _runs(frames: Sequence[Frame], rules: Rules) -> list[list[Frame]]:
    """Runs of consecutive, confident frames with the same label (gaps break runs)."""
    runs: list[list[Frame]] = []
    current: list[Frame] = []
    for frame in frames:
        counted = frame.label is not None and frame.confidence >= rules.min_confidence
        if counted and current and current[-1].label == frame.label:
            current.append(frame)
            continue
        if current:
            runs.append(current)
        current = [frame] if counted else []
        if not counted:
            runs.append([])  # an explicit gap marker, so runs on either side never merge
    if current:
        runs.append(current)
    return runs


def _drop_flickers(runs: list[list[Frame]], rules: Rules) -> list[list[Frame]]:
    """Remove short runs; merge same-label neighbours that a dropped flicker separated."""
    kept: list[list[Frame]] = []
    flicker_since_last = False
    for run in runs:
        if not run:  # gap
            kept.append(run)
            flicker_since_last = False
            continue
        if len(run) < rules.min_frames:
            flicker_since_last = True
            continue
        if flicker_since_last and kept and kept[-1] and kept[-1][-1].label == run[0].label:
            kept[-1] = kept[-1] + run
        else:
            kept.append(run)
        flicker_since_last = False
    return [run for run in kept if run]


def build_reactions(
    frames: Sequence[Frame], rules: Rules = Rules(), view_end: datetime | None = None
) -> list[Reaction]:
    """The reaction events of one view, from its frames in any order.

    ``view_end`` (when the page reported the view over) caps the last event's end.
    """
    frames = sorted(frames, key=lambda f: f.at)
    period = timedelta(seconds=frame_period(frames, rules))
    max_gap = timedelta(seconds=rules.max_gap)
    reactions: list[Reaction] = []
    for run in _drop_flickers(_runs(frames, rules), rules):
        segment = [run[0]]
        for frame in run[1:]:
            if frame.at - segment[-1].at > max_gap:
                reactions.append(_reaction(segment, period))
                segment = []
            segment.append(frame)
        reactions.append(_reaction(segment, period))
    if view_end is not None:
        reactions = [
            r
            if r.end <= view_end
            else Reaction(r.emotion, r.start, max(view_end, r.start), r.frames, r.mean_confidence)
            for r in reactions
        ]
    return reactions


def _reaction(segment: list[Frame], period: timedelta) -> Reaction:
    return Reaction(
        emotion=segment[0].label or "",
        start=segment[0].at,
        end=segment[-1].at + period,
        frames=len(segment),
        mean_confidence=sum(f.confidence for f in segment) / len(segment),
    )
