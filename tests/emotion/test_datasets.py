from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion.ml.datasets import (
    DatasetError,
    load_dataset,
    load_fer_csv,
    load_image_folder,
    load_npz,
    stratified_split,
)

PIXELS = " ".join(["7"] * 48 * 48)


def write_csv(path: Path, rows: list[str], header: str = "emotion,pixels,Usage") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_csv_loads_and_filters_by_usage(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fer.csv", [f"3,{PIXELS},Training", f"6,{PIXELS},PublicTest"])
    images, labels = load_fer_csv(path)
    assert images.shape == (2, 48, 48) and images.dtype == np.uint8 and images[0, 0, 0] == 7
    assert labels.tolist() == [3, 6]
    assert load_dataset(path, usage="PublicTest")[1].tolist() == [6]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"x,{PIXELS},Training", "line 3: malformed row"),
        ("3,1 2 3,Training", "line 3: expected 2304 pixels, got 3"),
        (f"9,{PIXELS},Training", "line 3: unknown label 9"),
        (f"3,{PIXELS.replace('7', '300', 1)},Training", "line 3: pixel values outside"),
    ],
)
def test_csv_rejects_bad_rows_naming_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = write_csv(tmp_path / "fer.csv", [f"0,{PIXELS},Training", row])
    with pytest.raises(DatasetError, match=message):
        load_fer_csv(path)


def test_csv_rejects_empty_file_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no rows"):
        load_fer_csv(write_csv(tmp_path / "empty.csv", []))
    with pytest.raises(DatasetError, match="missing column"):
        load_fer_csv(write_csv(tmp_path / "bad.csv", ["1,2"], header="label,x"))
    (tmp_path / "zero.csv").write_text("")
    with pytest.raises(DatasetError, match="missing column"):
        load_fer_csv(tmp_path / "zero.csv")


def test_folder_loads_class_subfolders(tmp_path: Path) -> None:
    for name, value in (("happy", 10), ("sad", 20)):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), np.full((48, 48, 3), value, np.uint8))
    (tmp_path / "sad" / "notes.txt").write_text("ignored")
    images, labels = load_image_folder(tmp_path)
    assert images.shape == (2, 48, 48)
    assert labels.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("folder", "content", "message"),
    [
        ("smiling", None, "unknown class folder"),
        ("happy", np.zeros((50, 48), np.uint8), "expected 48x48"),
        ("happy", b"not an image", "unreadable or empty image"),
        ("happy", b"", "unreadable or empty image"),
    ],
)
def test_folder_rejects_bad_input_naming_the_file(
    tmp_path: Path, folder: str, content: np.ndarray | bytes | None, message: str
) -> None:
    (tmp_path / folder).mkdir()
    if isinstance(content, np.ndarray):
        cv2.imwrite(str(tmp_path / folder / "x.png"), content)
    elif content is not None:
        (tmp_path / folder / "x.png").write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        load_image_folder(tmp_path)


def test_folder_without_images_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images"):
        load_image_folder(tmp_path)


def test_npz_round_trip(tiny_npz: Path, tiny_faces: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = load_dataset(tiny_npz)
    np.testing.assert_array_equal(images, tiny_faces[0])
    np.testing.assert_array_equal(labels, tiny_faces[1])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((2, 40, 40), np.uint8), "labels": np.zeros(2)}, "must be uint8"),
        ({"images": np.zeros((2, 48, 48), np.uint8), "labels": np.zeros(3)}, "3 labels for 2 images"),
        ({"images": np.zeros((2, 48, 48), np.uint8), "labels": np.array([0, 7])}, "unknown label 7"),
        ({"images": np.zeros((0, 48, 48), np.uint8), "labels": np.zeros(0)}, "empty dataset"),
        ({"pixels": np.zeros(3)}, "needs arrays"),
    ],
)
def test_npz_rejects_bad_arrays(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=message):
        load_npz(path)


def test_npz_rejects_garbage_and_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"not a readable \.npz"):
        load_npz(tmp_path / "x.npz")
    with pytest.raises(DatasetError, match="unsupported dataset"):
        load_dataset(tmp_path / "x.parquet")


def test_stratified_split_is_seeded_and_keeps_class_ratios() -> None:
    labels = np.repeat(np.arange(7), [400, 40, 400, 700, 480, 310, 490])
    train, val = stratified_split(labels, 0.1, seed=1)
    assert not set(train) & set(val) and len(train) + len(val) == len(labels)
    assert np.bincount(labels[val]).tolist() == [40, 4, 40, 70, 48, 31, 49]
    np.testing.assert_array_equal(val, stratified_split(labels, 0.1, seed=1)[1])


FER_TRAIN = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "fer2013" / "fer2013_train.npz"


@pytest.mark.skipif(not FER_TRAIN.exists(), reason="FER2013 (research-licensed) is not on this machine")
def test_the_validation_split_of_the_shipped_models_is_unchanged() -> None:
    """The faces every shipped model was selected on: 2,872 of 28,709, the same ones as when it was trained."""
    import hashlib

    with np.load(FER_TRAIN) as data:
        labels = data["labels"].astype(np.int64)
    train, val = stratified_split(labels, 0.1, seed=20240521)
    assert (len(labels), len(train), len(val)) == (28_709, 25_837, 2_872)
    assert np.bincount(labels[val]).tolist() == [400, 44, 410, 722, 483, 317, 496]
    assert hashlib.sha256(val.tobytes()).hexdigest()[:16] == "c807a6a5e7095f38"


@pytest.mark.parametrize(
    ("text", "usage", "labels"),
    [
        (f"emotion,pixels,Usage\r\n3,{PIXELS},Training\r\n", None, [3]),  # Windows line ends
        (f'emotion,pixels,Usage\n3,"{PIXELS}",Training\n', None, [3]),  # quoted pixels
        (f"Usage,pixels,emotion\nTraining,{PIXELS},4\n", None, [4]),  # any column order
        (f"emotion,pixels,Usage\nx,1,Other\n2,{PIXELS},PublicTest\n", "PublicTest", [2]),  # other usages unchecked
        (f"emotion,pixels\n5,{PIXELS}\n", None, [5]),  # Usage only needed to filter
    ],
)
def test_csv_reads_what_the_csv_module_read(tmp_path: Path, text: str, usage: str | None, labels: list[int]) -> None:
    (tmp_path / "fer.csv").write_text(text)
    images, read = load_fer_csv(tmp_path / "fer.csv", usage)
    assert read.tolist() == labels and read.dtype == np.int64
    assert images.shape == (len(labels), 48, 48) and images.dtype == np.uint8 and (images == 7).all()


def test_csv_errors_count_lines_as_before(tmp_path: Path) -> None:
    """A blank line is skipped without being counted; a short row is malformed, named by its line."""
    path = tmp_path / "fer.csv"
    path.write_text(f"emotion,pixels,Usage\n3,{PIXELS},Training\n\n4\n")
    with pytest.raises(DatasetError, match=r"line 3: malformed row \('NoneType' object has no attribute 'split'\)"):
        load_fer_csv(path)
    with pytest.raises(DatasetError, match="cannot open"):
        load_fer_csv(tmp_path / "missing.csv")
