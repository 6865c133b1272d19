import cv2
import numpy as np
from skimage import data

from emotion.ml.detect import detect_faces, largest_face
from emotion.ml.preprocess import to_gray


def test_finds_the_astronaut_and_pads_the_box() -> None:
    gray = to_gray(data.astronaut(), bgr=False)
    (x, y, w, h), *others = detect_faces(gray)
    assert not others
    px, py, pw, ph = largest_face(gray)
    assert px < x and py < y and px + pw > x + w and py + ph > y + h


def test_large_frames_are_detected_in_original_coordinates() -> None:
    gray = to_gray(data.astronaut(), bgr=False)
    big = cv2.resize(gray, None, fx=3, fy=3, interpolation=cv2.INTER_LINEAR)
    small_box, big_box = np.array(detect_faces(gray)[0]), np.array(detect_faces(big)[0])
    assert np.all(np.abs(big_box - 3 * small_box) < 0.25 * big_box[2])


def test_blank_frame_has_no_face() -> None:
    assert largest_face(np.zeros((240, 320), np.uint8)) is None
