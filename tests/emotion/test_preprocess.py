import numpy as np
import pytest

from emotion.ml.preprocess import FACE_SIZE, crop_face, pad_box, to_gray, to_network_input


@pytest.mark.parametrize("shape", [(30, 40), (30, 40, 1), (30, 40, 3), (30, 40, 4)])
def test_to_gray_accepts_common_layouts(shape: tuple[int, ...]) -> None:
    assert to_gray(np.zeros(shape, np.uint8)).shape == (30, 40)


def test_to_gray_honours_channel_order() -> None:
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255  # red in RGB, blue in BGR
    assert to_gray(red, bgr=False)[0, 0] > to_gray(red, bgr=True)[0, 0]


def test_to_gray_rejects_odd_shapes() -> None:
    with pytest.raises(ValueError, match="Unsupported image shape"):
        to_gray(np.zeros((4, 4, 2), np.uint8))


def test_pad_box_grows_and_clips_to_frame() -> None:
    assert pad_box((10, 10, 20, 20), (100, 100), padding=0.25) == (5, 5, 30, 30)
    assert pad_box((0, 0, 20, 20), (22, 22), padding=0.25) == (0, 0, 22, 22)


def test_crop_face_resizes_to_network_size() -> None:
    gray = np.arange(200 * 300, dtype=np.uint32).reshape(200, 300).astype(np.uint8)
    assert crop_face(gray, (10, 20, 120, 90)).shape == (FACE_SIZE, FACE_SIZE)


def test_to_network_input_scales_to_unit_range() -> None:
    faces = np.full((3, FACE_SIZE, FACE_SIZE), 255, np.uint8)
    x = to_network_input(faces)
    assert x.shape == (3, FACE_SIZE, FACE_SIZE, 1) and x.dtype == np.float32
    assert x.max() == 1.0
    assert to_network_input(faces[0]).shape == (1, FACE_SIZE, FACE_SIZE, 1)


def test_to_network_input_rejects_wrong_size() -> None:
    with pytest.raises(ValueError, match="Expected faces of shape"):
        to_network_input(np.zeros((2, 40, 40), np.uint8))
