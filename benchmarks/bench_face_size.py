"""How many pixels of the face the worker gets from the page, by the shopper's distance from the camera.

A laptop webcam with a horizontal field of view ``--fov`` (default 70°) films a face 14 cm
wide at a distance d: ``width * 0.14 / (2 d tan(fov / 2))`` pixels of a picture ``width`` wide.

- Whole picture (``EMOTION_CAPTURE_ROI=false``, and the page before the region of interest):
  the camera opened at 320x240, every frame the whole picture.
- Region of interest (``emotion.roi``, the default): the camera opened at 1280x720; the page
  sends what the last answer named: the whole picture 320 px wide, the central half while no
  face was found, then the region around the face, each scaled to at most 320 px.

For each distance (40-150 cm) this renders scikit-image's public-domain astronaut at that
size on a plain background, runs the page's frames through the worker's path (JPEG quality
70, decode, BlazeFace, crop, quality score) following the protocol for 5 frames, and reports
for each capture: whether the face is found, its width in the frame the worker decodes, the
quality score against the card's threshold, and the label's agreement with the same face at
full size; then the served model's PublicTest accuracy with faces reduced to that width
(48 px or more is the clean figure) and the share the quality score keeps. A face the
detector never finds gives no frame at all (the worker stores "no face" gaps).

Writes benchmarks/results/face_size.json.

    .venv/bin/python benchmarks/bench_face_size.py [--data fer2013_val.npz] [--fov 70]
"""

import argparse
import io
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import write_result
from emotion.ml import conditions, quality
from emotion.ml.datasets import load_dataset
from emotion.ml.detect import DETECT_MAX_SIDE
from emotion.ml.inference import MODEL_DIR, EmotionClassifier, decode_image
from emotion.ml.preprocess import crop_face, pad_box, to_gray
from emotion.roi import CAPTURE_WIDTH, ROI_SCALE, Region, face_in_picture, next_after

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"
FACE_WIDTH_M = 0.14
DISTANCES_CM = (40, 50, 60, 80, 100, 120, 150)
PROTOCOL_FRAMES = 5
BACKGROUND = (120, 130, 140)


def face_width_px(frame_width: int, distance_m: float, fov_deg: float) -> float:
    """The face's width in pixels of a ``frame_width``-wide picture of the camera's whole view."""
    return frame_width * FACE_WIDTH_M / (2 * distance_m * math.tan(math.radians(fov_deg) / 2))


def camera_picture(width: int, height: int, face_px: float, source: np.ndarray, box: tuple) -> np.ndarray:
    """The camera's picture: the source scaled so its face is ``face_px`` wide, centred on a plain background."""
    x, y, w, h = box
    scale = face_px / w
    scaled = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    picture = np.empty((height, width, 3), np.uint8)
    picture[:] = BACKGROUND
    left, top = round(width / 2 - (x + w / 2) * scale), round(height / 2 - (y + h / 2) * scale)
    sx, sy = max(0, -left), max(0, -top)
    dx, dy = max(0, left), max(0, top)
    cw, ch = min(scaled.shape[1] - sx, width - dx), min(scaled.shape[0] - sy, height - dy)
    picture[dy : dy + ch, dx : dx + cw] = scaled[sy : sy + ch, sx : sx + cw]
    return picture


def page_frame(picture: np.ndarray, region: Region | None) -> bytes:
    """The JPEG the page sends (static/js/emotion.js drawFrame): the region, or the whole picture, <= 320 wide."""
    height, width = picture.shape[:2]
    if region is None:
        out = cv2.resize(picture, (CAPTURE_WIDTH, round(CAPTURE_WIDTH * height / width)), interpolation=cv2.INTER_AREA)
    else:
        crop = picture[
            round(region.y * height) : round((region.y + region.h) * height),
            round(region.x * width) : round((region.x + region.w) * width),
        ]
        scale = min(1.0, CAPTURE_WIDTH / crop.shape[1], CAPTURE_WIDTH / crop.shape[0])
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        out = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def worker_view(model: EmotionClassifier, jpeg: bytes, shown: Region | None) -> tuple[dict, Region | None]:
    """What the worker's path makes of one frame (``emotion.tasks.classify_single_face``), and the face's place."""
    image = decode_image(jpeg, max_side=DETECT_MAX_SIDE)
    boxes = model.detector(image, bgr=False)
    if not boxes:
        return {"found": False}, None
    gray = to_gray(image, bgr=False)
    box = pad_box(boxes[0], gray.shape)
    face = crop_face(gray, box)
    score = quality.face_quality(face, min(box[2], box[3])).score
    probabilities = model.classify_faces(face[None])[0]
    seen = {
        "found": True,
        "box_px": int(boxes[0][2]),
        "quality": round(float(score), 3),
        "kept": model.quality_threshold is None or score >= model.quality_threshold,
        "label_index": int(probabilities.argmax()),
    }
    return seen, face_in_picture(boxes[0], image.shape[1], image.shape[0], shown)


def follow(model: EmotionClassifier, picture: np.ndarray, roi: bool) -> list[dict]:
    """The page's first frames and what the worker saw in each, following the regions the answers name."""
    steps, region = [], None
    for _ in range(PROTOCOL_FRAMES):
        seen, face = worker_view(model, page_frame(picture, region), region)
        steps.append({"region": region.as_dict() if region else None} | seen)
        region = next_after(face, region) if roi else None
    return steps


def accuracy_at(model: EmotionClassifier, images: np.ndarray, labels: np.ndarray, face_px: float) -> dict:
    """PublicTest accuracy with faces reduced to ``face_px`` pixels (48 px or more is clean)."""
    size = min(48, round(face_px))
    if size in _accuracy:
        return _accuracy[size]
    faces = images if size >= 48 else np.stack([conditions.downscale(face, size) for face in images])
    probs = np.concatenate([model.classify_faces(faces[i : i + 256]) for i in range(0, len(faces), 256)])
    correct = probs.argmax(1) == labels
    kept = quality.quality_scores(faces, min(size, 48)) >= (model.quality_threshold or 0.0)
    _accuracy[size] = {
        "accuracy_at_that_size": round(float(correct.mean()), 4),
        "kept_share": round(float(kept.mean()), 4),
        "kept_accuracy": round(float(correct[kept].mean()), 4) if kept.any() else None,
    }
    return _accuracy[size]


_accuracy: dict[int, dict] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "fer2013_val.npz")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--fov", type=float, default=70.0, help="the webcam's horizontal field of view, degrees")
    args = parser.parse_args()

    model = EmotionClassifier(args.model_dir, tta=False)
    images, labels = load_dataset(args.data)
    source = data.astronaut()
    source_box = model.detector(source, bgr=False)[0]
    reference = worker_view(model, page_frame(source, None), None)[0]
    rows = []
    for cm in DISTANCES_CM:
        row: dict[str, object] = {"distance_cm": cm}
        for capture, (width, height), roi in (
            ("whole_320x240", (320, 240), False),
            ("roi_1280x720", (1280, 720), True),
        ):
            camera_px = face_width_px(width, cm / 100, args.fov)
            steps = follow(model, camera_picture(width, height, camera_px, source, source_box), roi)
            last = steps[-1]
            summary = {"face_px_in_camera": round(camera_px, 1), "frames": steps, "found": last["found"]}
            if last["found"]:
                summary |= {
                    "face_px_seen": last["box_px"],
                    "agrees_with_full_size": last["label_index"] == reference["label_index"],
                } | accuracy_at(model, images, labels, last["box_px"])
            row[capture] = summary
        rows.append(row)
        print(
            json.dumps(
                {
                    k: {kk: vv for kk, vv in v.items() if kk != "frames"} if isinstance(v, dict) else v
                    for k, v in row.items()
                }
            ),
            flush=True,
        )
    write_result(
        "face_size",
        {
            "benchmark": "face size the worker sees by distance, with the full 320x240 capture and the region "
            "of interest, and the served model's PublicTest accuracy at that size",
            "camera": {"horizontal_fov_deg": args.fov, "face_width_cm": FACE_WIDTH_M * 100},
            "roi_scale": ROI_SCALE,
            "model_version": model.model_version,
            "quality_threshold": model.quality_threshold,
            "distances": rows,
        },
    )


if __name__ == "__main__":
    main()
