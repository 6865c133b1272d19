"""Webcam conditions: each degrades the face the way its name says, reproducibly."""

import numpy as np
import pytest
from skimage import data, transform

from emotion.ml import conditions


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """scikit-image's public-domain astronaut, her face cropped and scaled to 48x48 grey."""
    gray = (data.astronaut()[30:230, 140:340].mean(axis=2)).astype(np.uint8)
    return (transform.resize(gray, (48, 48), anti_aliasing=True) * 255).astype(np.uint8)


def sharpness(face: np.ndarray) -> float:
    return float(np.abs(np.diff(face.astype(float), axis=1)).mean())


def test_every_condition_keeps_shape_and_dtype(face: np.ndarray) -> None:
    for name in conditions.CONDITIONS:
        out = conditions.apply(name, face[None])
        assert out.shape == (1, 48, 48) and out.dtype == np.uint8, name
    assert set(conditions.HEADLINE) <= set(conditions.CONDITIONS)


def test_clean_is_identity_and_others_change_the_face(face: np.ndarray) -> None:
    assert np.array_equal(conditions.apply("clean", face[None])[0], face)
    for name in set(conditions.CONDITIONS) - {"clean"}:
        assert not np.array_equal(conditions.apply(name, face[None])[0], face), name


def test_strengths_are_ordered(face: np.ndarray) -> None:
    blurred = [sharpness(conditions.apply(f"blur {s}", face[None])[0]) for s in (1.0, 1.5, 2.0)]
    assert blurred == sorted(blurred, reverse=True) and blurred[0] < sharpness(face)
    small = [sharpness(conditions.apply(f"face {s}px", face[None])[0]) for s in (32, 16, 12)]
    assert small == sorted(small, reverse=True)
    dark = [conditions.apply(f"gain {g}", face[None]).mean() for g in (0.6, 0.4, 0.25)]
    assert dark == sorted(dark, reverse=True)
    assert conditions.apply("contrast 0.4", face[None]).std() < 0.5 * face.std()


def test_noise_is_reproducible_per_seed(face: np.ndarray) -> None:
    a, b = conditions.apply("noise 20", face[None], seed=1), conditions.apply("noise 20", face[None], seed=1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, conditions.apply("noise 20", face[None], seed=2))
    assert 15 < (a.astype(float) - face).std() < 25


def test_random_degrade_rate_and_determinism(face: np.ndarray) -> None:
    faces = np.repeat(face[None], 400, axis=0)
    out = conditions.random_degrade(faces, 0.3, seed=7)
    changed = np.mean([not np.array_equal(o, face) for o in out])
    assert 0.22 < changed < 0.38  # ~30% chosen (a few draws can leave a face unchanged)
    assert np.array_equal(out, conditions.random_degrade(faces, 0.3, seed=7))
    assert np.array_equal(conditions.random_degrade(faces, 0.0, seed=7), faces)
    assert np.array_equal(faces[0], face)  # input untouched
