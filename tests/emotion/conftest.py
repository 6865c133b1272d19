"""Small generated data for the emotion ML tests (no FER2013, no database)."""

from pathlib import Path

import numpy as np
import pytest

from emotion.ml.labels import NUM_CLASSES


@pytest.fixture
def tiny_faces() -> tuple[np.ndarray, np.ndarray]:
    """Random 48x48 faces, every class present, each class a different brightness."""
    rng = np.random.default_rng(0)
    labels = np.arange(70) % NUM_CLASSES
    images = rng.integers(0, 60, (70, 48, 48)) + labels[:, None, None] * 28
    return images.astype(np.uint8), labels.astype(np.int64)


@pytest.fixture
def tiny_npz(tmp_path: Path, tiny_faces: tuple[np.ndarray, np.ndarray]) -> Path:
    images, labels = tiny_faces
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images, labels=labels.astype(np.uint8))
    return path


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained model saved like a shipped one (enough to test plumbing)."""
    from emotion.ml.models import build_model

    directory = tmp_path_factory.mktemp("model")
    build_model("vgg").save(directory / "emotion.keras")
    return directory
