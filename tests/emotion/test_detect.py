import cv2
import numpy as np
import pytest
from skimage import data

from emotion.ml.detect import DETECTORS, blazeface_anchors, detect_faces, get_detector, largest_face
from emotion.ml.preprocess import to_gray

each_detector = pytest.mark.parametrize("detector", DETECTORS)


@each_detector
def test_finds_the_astronaut_and_pads_the_box(detector: str) -> None:
    image = data.astronaut()
    (x, y, w, h), *others = detect_faces(image, bgr=False, detector=detector)
    assert not others
    assert 150 < x + w / 2 < 260 and 60 < y + h / 2 < 180, "the box should be on her face"
    px, py, pw, ph = largest_face(image, bgr=False, detector=detector)
    assert px < x and py < y and px + pw > x + w and py + ph > y + h


@each_detector
def test_gray_and_colour_frames_give_the_same_face(detector: str) -> None:
    image = data.astronaut()
    colour = np.array(detect_faces(image, bgr=False, detector=detector)[0])
    gray = np.array(detect_faces(to_gray(image, bgr=False), detector=detector)[0])
    assert np.all(np.abs(colour - gray) < 0.25 * colour[2])


@each_detector
def test_large_frames_are_detected_in_original_coordinates(detector: str) -> None:
    image = data.astronaut()
    big = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_LINEAR)
    small_box = np.array(detect_faces(image, bgr=False, detector=detector)[0])
    big_box = np.array(detect_faces(big, bgr=False, detector=detector)[0])
    assert np.all(np.abs(big_box - 3 * small_box) < 0.25 * big_box[2])


@each_detector
def test_blank_and_faceless_frames_have_no_face(detector: str) -> None:
    assert largest_face(np.zeros((240, 320), np.uint8), detector=detector) is None
    assert detect_faces(data.coffee(), bgr=False, detector=detector) == []


@each_detector
def test_boxes_stay_inside_the_frame(detector: str) -> None:
    image = data.astronaut()[40:200, 150:300]  # the face touches the edges
    for x, y, w, h in detect_faces(image, bgr=False, detector=detector):
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert x + w <= image.shape[1] and y + h <= image.shape[0]


def test_unknown_detector_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown face detector"):
        get_detector("retinaface")


def test_blazeface_anchor_grid() -> None:
    anchors = blazeface_anchors()
    assert anchors.shape == (896, 2)  # 16*16*2 + 8*8*6, the model's output rows
    assert anchors.min() > 0 and anchors.max() < 1
    assert np.allclose(anchors[0], anchors[1]) and np.allclose(anchors[0], [1 / 32, 1 / 32])
