"""Per-face quality score: low for blurred, small, dark or flat faces; threshold chosen by its rule."""

import numpy as np
import pytest
from skimage import data, transform

from emotion.ml import conditions, quality


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    gray = (data.astronaut()[30:230, 140:340].mean(axis=2)).astype(np.uint8)
    return (transform.resize(gray, (48, 48), anti_aliasing=True) * 255).astype(np.uint8)


def score(face: np.ndarray, name: str, px: float = 48) -> float:
    return quality.face_quality(conditions.apply(name, face[None])[0], px).score


def test_clean_face_scores_full_and_each_part_is_bounded(face: np.ndarray) -> None:
    q = quality.face_quality(face, 120)
    assert q.score == 1.0 and 0 <= q.sharpness <= 1 and q.size == 1.0 and q.exposure == 1.0


def test_blur_and_small_faces_lower_sharpness_and_size(face: np.ndarray) -> None:
    assert score(face, "blur 1.5") < score(face, "blur 1.0") < score(face, "clean")
    assert quality.face_quality(face, 16).size == pytest.approx(16 / 48)
    assert score(face, "face 12px", 12) < 0.3


def test_exposure_is_flat_light_not_blur(face: np.ndarray) -> None:
    flat = quality.face_quality(conditions.apply("contrast 0.25", face[None])[0], 48)
    assert flat.exposure < 0.7 and flat.sharpness > 0.9  # sharpness is relative to contrast


def test_quality_scores_vectorised_matches_single(face: np.ndarray) -> None:
    faces = conditions.apply("blur 1.0", np.repeat(face[None], 3, axis=0))
    assert np.allclose(quality.quality_scores(faces, 48), [quality.face_quality(f, 48).score for f in faces])


def test_threshold_drops_the_band_where_the_model_is_mostly_wrong() -> None:
    rng = np.random.default_rng(0)
    clean_scores = rng.uniform(0.8, 1.0, 1000)
    degraded = rng.uniform(0.0, 1.0, 4000)
    # Right 80% of the time above 0.4, 20% below it.
    correct = rng.random(4000) < np.where(degraded >= 0.4, 0.8, 0.2)
    threshold = quality.choose_threshold(
        {"clean": clean_scores, "blur": degraded}, {"clean": np.ones(1000, bool), "blur": correct}
    )
    assert 0.35 <= threshold <= 0.45


def test_threshold_never_drops_more_clean_faces_than_allowed() -> None:
    clean_scores = np.linspace(0, 1, 100)
    degraded = np.linspace(0, 1, 100)
    correct = degraded > 0.9  # would want a threshold of 0.9
    threshold = quality.choose_threshold(
        {"clean": clean_scores, "x": degraded}, {"clean": np.ones(100, bool), "x": correct}, min_clean_kept=0.8
    )
    assert np.mean(clean_scores >= threshold) >= 0.8
