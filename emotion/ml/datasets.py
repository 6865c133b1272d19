"""Loaders that turn the supported dataset formats into uint8 face arrays.

Every loader returns ``(images, labels)`` with images of shape (N,48,48)
uint8 and labels int64 in FER2013 order (see :mod:`emotion.ml.labels`), and
raises :class:`DatasetError` naming the offending row or file on bad input,
because a silently skipped row would skew the class balance unnoticed.
"""

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from emotion.ml.labels import CLASS_TO_INDEX, CLASSES, NUM_CLASSES
from emotion.ml.preprocess import FACE_SIZE

Dataset = tuple[NDArray[np.uint8], NDArray[np.int64]]
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".pgm", ".tif", ".tiff"})
_PIXELS = FACE_SIZE * FACE_SIZE


class DatasetError(ValueError):
    """Raised when a dataset file or folder cannot be parsed."""


def _check_labels(labels: NDArray[np.int64], source: str) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if bad.size:
        raise DatasetError(f"{source}: unknown label {labels[bad[0]]} at index {bad[0]}")


def load_fer_csv(path: str | Path, usage: str | None = None) -> Dataset:
    """Load Kaggle's ``fer2013.csv`` (columns emotion, pixels, Usage).

    ``usage`` keeps only rows whose Usage equals it (e.g. ``"Training"``,
    ``"PublicTest"``); the Usage column is then required, and rows of other
    usages are not checked. pandas reads the table (every cell as text, so a
    bad cell is reported rather than coerced); errors name the file's line.
    """
    path = Path(path)
    required = {"emotion", "pixels"} | ({"Usage"} if usage else set())
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False, encoding="utf-8", engine="python")
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open ({exc})") from exc
    if not required <= set(table.columns):
        raise DatasetError(f"{path}: missing column(s) {sorted(required - set(table.columns))}")
    if usage is not None:
        table = table[table["Usage"] == usage]
    table = table.astype(object).where(table.notna(), None)  # a short row's missing cells
    if table.empty:
        raise DatasetError(f"{path}: no rows" + (f" with Usage={usage!r}" if usage else ""))
    images = np.empty((len(table), FACE_SIZE, FACE_SIZE), dtype=np.uint8)
    labels = np.empty(len(table), dtype=np.int64)
    rows = zip(table.index + 2, table["emotion"], table["pixels"], strict=True)  # the header is line 1
    for i, (line, emotion, text) in enumerate(rows):
        where = f"{path}, line {line}"
        try:
            label = int(emotion)
            pixels = np.array(text.split(), dtype=np.int64)
        except (ValueError, AttributeError) as exc:
            raise DatasetError(f"{where}: malformed row ({exc})") from exc
        if not 0 <= label < NUM_CLASSES:
            raise DatasetError(f"{where}: unknown label {label}")
        if pixels.size != _PIXELS:
            raise DatasetError(f"{where}: expected {_PIXELS} pixels, got {pixels.size}")
        if pixels.min() < 0 or pixels.max() > 255:
            raise DatasetError(f"{where}: pixel values outside 0..255")
        images[i], labels[i] = pixels.reshape(FACE_SIZE, FACE_SIZE), label
    return images, labels


def load_image_folder(root: str | Path) -> Dataset:
    """Load ``root/<class name>/*.png|jpg|...``; images must already be 48x48.

    Colour images are converted to grayscale; other sizes are rejected rather
    than resized, because a folder of wrong-sized images usually means the
    wrong folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory")
    images: list[NDArray[np.uint8]] = []
    labels: list[int] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if class_dir.name not in CLASS_TO_INDEX:
            raise DatasetError(f"{class_dir}: unknown class folder; expected one of {CLASSES}")
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise DatasetError(f"{file}: unreadable or empty image")
            if image.shape != (FACE_SIZE, FACE_SIZE):
                raise DatasetError(f"{file}: expected {FACE_SIZE}x{FACE_SIZE}, got {image.shape}")
            images.append(image)
            labels.append(CLASS_TO_INDEX[class_dir.name])
    if not images:
        raise DatasetError(f"{root}: no images found in class sub-folders")
    return np.stack(images), np.array(labels, dtype=np.int64)


def load_npz(path: str | Path) -> Dataset:
    """Load an ``.npz`` with ``images`` (N,48,48) uint8 and ``labels``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("images", "labels") if key in data}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a readable .npz ({exc})") from exc
    if len(arrays) != 2:
        raise DatasetError(f"{path}: needs arrays 'images' and 'labels'")
    images, labels = arrays["images"], arrays["labels"]
    if images.ndim != 3 or images.shape[1:] != (FACE_SIZE, FACE_SIZE) or images.dtype != np.uint8:
        raise DatasetError(
            f"{path}: 'images' must be uint8 (N,{FACE_SIZE},{FACE_SIZE}), got {images.dtype} {images.shape}"
        )
    if labels.shape != (len(images),):
        raise DatasetError(f"{path}: {len(labels)} labels for {len(images)} images")
    if not len(images):
        raise DatasetError(f"{path}: empty dataset")
    labels = labels.astype(np.int64)
    _check_labels(labels, str(path))
    return images, labels


def load_dataset(path: str | Path, usage: str | None = None) -> Dataset:
    """Dispatch on the path: a folder, a ``.csv`` or an ``.npz``."""
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path)
    if path.suffix.lower() == ".csv":
        return load_fer_csv(path, usage)
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    raise DatasetError(f"{path}: unsupported dataset (expected a folder, .csv or .npz)")


def stratified_split(
    labels: NDArray[np.int64], fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Seeded per-class split into (train_idx, val_idx) with ~``fraction`` in val.

    Hand-written on purpose, not scikit-learn's ``train_test_split(stratify=...)`` or
    ``StratifiedShuffleSplit``: every shipped model's validation figures (and its selection
    rule) were measured on this split, and scikit-learn cannot reproduce it. It draws from
    the legacy ``RandomState`` rather than numpy's ``Generator`` and apportions the classes
    differently; on FER2013's training labels (seed 20240521, fraction 0.1) it picks 2,871
    faces, of which only 297 are among today's 2,872, i.e. a new split (checked by
    ``tests/emotion/test_datasets.py``, which pins today's selection on the real labels).
    """
    rng = np.random.default_rng(seed)
    train_parts, val_parts = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = round(len(idx) * fraction)
        val_parts.append(idx[:n_val])
        train_parts.append(idx[n_val:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))
