"""The OpenCV and NumPy steps static/js/on_device.js ports, against the originals, in Chromium.

Random images of random sizes through every branch the worker's path takes: INTER_AREA with
fractional and integer scales (2x2 has its own rounding), INTER_LINEAR (faces under 48 px),
RGB to gray, the quality score and the temperature. The parity test covers the whole pipeline
on real faces; this one reaches the branches real frames rarely do.
"""

import base64

import cv2
import numpy as np
import pytest

from emotion.ml.calibrate import apply_temperature
from emotion.ml.quality import face_quality

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPARE = """async ([cases, grays, faces, probs]) => {
  const m = await import("/static/js/on_device.js");
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const text = (array) => btoa(String.fromCharCode(...array));
  const resized = cases.map((c) => text(m.resize(bytes(c.src), c.sw, c.sh, c.cn, c.dw, c.dh, c.how)));
  const gray = grays.map((g) => text(m.rgbaToGray(bytes(g.rgba), g.w, g.h)));
  const quality = faces.map((f) => m.faceQuality(bytes(f.face), f.px));
  const calibrated = probs.map((p) => Array.from(m.applyTemperature(Float32Array.from(p.p), p.t)));
  return { resized, gray, quality, calibrated };
}"""


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def resize_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for i in range(90):
        sw, sh, cn = int(rng.integers(8, 220)), int(rng.integers(8, 220)), int(rng.choice([1, 3]))
        image = rng.integers(0, 256, (sh, sw, cn), dtype=np.uint8)
        if i % 2:
            image = cv2.GaussianBlur(image, (5, 5), 2).reshape(sh, sw, cn)  # photo-like gradients too
        kind = i % 3
        if kind == 0:  # fractional downscale
            how, dw, dh = "area", int(rng.integers(1, sw + 1)), int(rng.integers(1, sh + 1))
        elif kind == 1:  # integer downscale, 2x2 among them
            k = 2 if i % 2 else int(rng.integers(2, 5))
            how, dw, dh = "area", max(1, sw // k), max(1, sh // k)
        else:  # a small face up to 48x48
            how, dw, dh = "linear", 48, 48
        source = image if cn == 3 else image[..., 0]
        interpolation = cv2.INTER_AREA if how == "area" else cv2.INTER_LINEAR
        expected = cv2.resize(source, (dw, dh), interpolation=interpolation)
        case = {"src": b64(image), "sw": sw, "sh": sh, "cn": cn, "dw": dw, "dh": dh, "how": how}
        cases.append(case | {"expected": expected})
    return cases


def test_the_ports_compute_what_opencv_and_numpy_do(new_page, live_server):
    rng = np.random.default_rng(23)
    cases = resize_cases(rng)
    grays = [rng.integers(0, 256, (*rng.integers(5, 90, 2), 4), dtype=np.uint8) for _ in range(10)]
    noise = rng.integers(0, 256, (30, 48, 48), dtype=np.uint8)
    faces = [cv2.GaussianBlur(n, (0, 0), s) for n, s in zip(noise, rng.uniform(0.3, 3, len(noise)), strict=True)]
    sizes = rng.uniform(10, 120, len(faces))
    logits = rng.normal(0, 3, (20, 7))
    probs = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    temperatures = rng.uniform(0.5, 2, len(probs))
    page = new_page()
    page.goto(f"{live_server.url}/")
    got = page.evaluate(
        COMPARE,
        [
            [{k: v for k, v in c.items() if k != "expected"} for c in cases],
            [{"rgba": b64(g), "w": g.shape[1], "h": g.shape[0]} for g in grays],
            [{"face": b64(f), "px": float(px)} for f, px in zip(faces, sizes, strict=True)],
            [{"p": p.tolist(), "t": float(t)} for p, t in zip(probs, temperatures, strict=True)],
        ],
    )
    for case, out in zip(cases, got["resized"], strict=True):
        result = np.frombuffer(base64.b64decode(out), np.uint8).reshape(case["expected"].shape)
        assert np.array_equal(result, case["expected"]), {k: case[k] for k in ("sw", "sh", "cn", "dw", "dh", "how")}
    for image, out in zip(grays, got["gray"], strict=True):
        expected = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
        assert np.array_equal(np.frombuffer(base64.b64decode(out), np.uint8).reshape(expected.shape), expected)
    expected_quality = [face_quality(f, px).score for f, px in zip(faces, sizes, strict=True)]
    np.testing.assert_allclose(got["quality"], expected_quality, rtol=0, atol=1e-9)
    expected_calibrated = [apply_temperature(p[None], t)[0] for p, t in zip(probs, temperatures, strict=True)]
    np.testing.assert_array_equal(np.array(got["calibrated"], np.float32), np.array(expected_calibrated))
