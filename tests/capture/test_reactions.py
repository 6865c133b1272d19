"""Sessionization rules and valence scoring (pure functions, no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from emotion.ml.labels import valence
from emotion.reactions import Frame, Rules, build_reactions

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def stream(labels: str, period: float = 0.5, confidence: float = 0.9, start: float = 0.0) -> list[Frame]:
    """Frames from a compact string: H=happy S=sad N=neutral D=disgust, '.' = no face."""
    names = {"H": "happy", "S": "sad", "N": "neutral", "D": "disgust"}
    return [
        Frame(T0 + timedelta(seconds=start + i * period), names.get(c), confidence if c != "." else 0.0)
        for i, c in enumerate(labels)
    ]


def summary(reactions) -> list[tuple[str, float, int]]:
    return [(r.emotion, round(r.duration, 3), r.frames) for r in reactions]


def test_steady_emotion_is_one_event_lasting_frames_times_period():
    assert summary(build_reactions(stream("HHHH"))) == [("happy", 2.0, 4)]


def test_split_on_emotion_change():
    assert summary(build_reactions(stream("HHHSSS"))) == [("happy", 1.5, 3), ("sad", 1.5, 3)]


def test_single_frame_flicker_is_smoothed_away():
    assert summary(build_reactions(stream("HHHSHHH"))) == [("happy", 3.5, 6)]


def test_flicker_between_different_emotions_is_dropped():
    assert summary(build_reactions(stream("HHDSS"))) == [("happy", 1.0, 2), ("sad", 1.0, 2)]


def test_low_confidence_frames_are_gaps():
    frames = stream("HHHH")
    frames[1] = Frame(frames[1].at, "happy", 0.1)
    frames[2] = Frame(frames[2].at, "happy", 0.1)
    assert build_reactions(frames, Rules(min_frames=1, max_gap=10)) != build_reactions(stream("HHHH"))
    assert [r.frames for r in build_reactions(frames, Rules(min_frames=1, max_gap=10))] == [1, 1]


def test_no_face_frames_break_events():
    assert summary(build_reactions(stream("HH..HH"))) == [("happy", 1.0, 2), ("happy", 1.0, 2)]


def test_long_gap_in_time_closes_an_event():
    frames = stream("HHH") + stream("HHH", start=10.0)
    assert summary(build_reactions(frames)) == [("happy", 1.5, 3), ("happy", 1.5, 3)]


def test_short_gap_in_time_keeps_one_event():
    frames = stream("HHH") + stream("HHH", start=2.5)
    assert summary(build_reactions(frames)) == [("happy", 4.0, 6)]  # the 1 s gap is bridged


def test_view_end_caps_the_last_event():
    reactions = build_reactions(stream("HHHH"), view_end=T0 + timedelta(seconds=1.6))
    assert summary(reactions) == [("happy", 1.6, 4)]


def test_order_of_arrival_does_not_matter():
    frames = stream("HHHSSS")
    assert build_reactions(list(reversed(frames))) == build_reactions(frames)


def test_empty_and_all_gap_streams():
    assert build_reactions([]) == []
    assert build_reactions(stream("....")) == []
    assert build_reactions(stream("H")) == []  # a lone frame is a flicker


def test_mean_confidence():
    frames = [Frame(T0, "happy", 0.6), Frame(T0 + timedelta(seconds=0.5), "happy", 1.0)]
    assert build_reactions(frames)[0].mean_confidence == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ({}, 0.0),
        ({"happy": 10}, 1.0),
        ({"disgust": 4}, -1.0),
        ({"happy": 5, "disgust": 5}, 0.0),
        ({"neutral": 9, "happy": 1}, 0.1),
    ],
)
def test_valence(seconds, expected):
    assert valence(seconds) == pytest.approx(expected)
