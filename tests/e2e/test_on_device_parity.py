"""On-device parity in Chromium: the page's analysis (static/js/on_device.js on LiteRT.js) against the
worker's Python path (LiteRT) on the same pixels.

The faces and frames are tests/e2e/parity_faces.py's (scikit-image's LFW faces and astronaut). The
classifier must agree on the top-1 class for at least 99.5 % of them; the largest probability
difference is printed (dynamic-range quantisation rounds differently in WebAssembly: about
0.002). The detector must find the same boxes, and the whole frame pipeline (boxes,
gaps, quality, label) must decide the same. The page is a product page in browser mode, so the
runtime runs under the page's real Content-Security-Policy.
"""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from emotion.ml.inference import EmotionClassifier
from emotion.tasks import classify_single_face
from tests.e2e.parity_faces import HEIGHT, WIDTH, classifier_faces, frames

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANALYSE = """async ([faces, frames, width, height]) => {
  const root = document.getElementById("emotion-capture");
  const m = await import(root.dataset.onDeviceUrl);
  const analyzer = await m.createAnalyzer({
    runtimeUrl: root.dataset.runtimeUrl, detectorUrl: root.dataset.detectorUrl, modelUrl: root.dataset.modelUrl,
    parameters: JSON.parse(root.dataset.parameters),
  });
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const probabilities = [];
  for (const face of faces) probabilities.push(Array.from(await analyzer.classify(bytes(face))));
  const reports = [];
  for (const frame of frames) {
    const rgb = bytes(frame), rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = 255;
    }
    reports.push(await analyzer.analyse(rgba, width, height));
  }
  return { probabilities, reports };
}"""


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_browser_classifies_and_detects_as_the_worker_does(new_page, console, live_server, product, settings):
    settings.EMOTION_INFERENCE = "browser"
    faces, scenes = classifier_faces(), frames()
    page = new_page()
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    browser = page.evaluate(ANALYSE, [[b64(f) for f in faces], [b64(s) for s in scenes], WIDTH, HEIGHT])

    worker = EmotionClassifier(settings.EMOTION_MODEL_DIR, tta=False)
    expected = np.concatenate([worker.classify_faces(face[None]) for face in faces])
    got = np.array(browser["probabilities"], dtype=np.float32)
    agreement = float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1)))
    max_diff = float(np.abs(expected - got).max())
    print(f"classifier parity on {len(faces)} faces: top-1 agreement {agreement:.4f}, max |dp| {max_diff:.2e}")
    assert agreement >= 0.995
    # Not bit-equal: the served model is dynamic-range quantised, and XNNPack's WebAssembly kernels
    # quantise the activations with their own rounding. Far below any confidence cut's resolution.
    assert max_diff < 0.01

    found_faces = 0
    for scene, report in zip(scenes, browser["reports"], strict=True):
        boxes = [list(box) for box in worker.detector(scene, bgr=False)]
        assert report["boxes"] == boxes
        found_faces += bool(boxes)
        result = classify_single_face(worker, png(scene))  # the worker's own decision for these pixels
        assert report["label"] == result.label
        if result.quality is None:
            assert report["quality"] is None
        else:
            assert report["quality"] == pytest.approx(result.quality, abs=1e-9)
        if result.probabilities:
            diffs = [abs(report["probabilities"][k] - v) for k, v in result.probabilities.items()]
            assert max(diffs) < 0.01
    assert found_faces >= len(scenes) - 3  # the set exercises the detector (not only empty frames)
    assert console.csp_violations == [], console.csp_violations
