// On-device analysis (EMOTION_INFERENCE=browser): the page finds and classifies the shopper's face
// itself, with the worker's own two model files run by LiteRT.js (static/vendor/litertjs/), and
// only the labels leave the device. Every step reproduces the worker's Python path exactly:
//
//   emotion/ml/detect.py      BlazeFace letterbox, anchor decoding, NMS (cv2.dnn.NMSBoxes), clipping
//   emotion/tasks.py          the largest face only; several faces of comparable size are a gap
//   emotion/ml/preprocess.py  cv2 RGB->gray, the 10 % padding, the 48x48 crop (INTER_AREA/INTER_LINEAR)
//   emotion/ml/quality.py     sharpness (Laplacian), size and exposure; under the card's threshold: a gap
//   emotion/ml/inference.py   gray/255, the model, the card's temperature
//
// OpenCV's resize and colour conversion are ported with their integer and float32 arithmetic
// (Math.fround), and Python's round() (half to even) where the worker rounds, so the same pixels
// give the same boxes, crops and probabilities (tests/e2e/test_on_device_parity.py checks it).

const BLAZEFACE_SIZE = 128;
const BOX_SCALE = Math.fround(1.17);
const BOX_SHIFT_UP = Math.fround(0.09);
const FACE_SIZE = 48;
const FACE_PADDING = 0.1;
const SHARPNESS_REF = 0.3, SIZE_REF = 48, EXPOSURE_REF = 32;
const TEMPERATURE_EPS = 1e-7;
const f32 = Math.fround;

// Python's round(): to the nearest integer, ties to even.
export function roundHalfEven(x) {
  const floor = Math.floor(x), diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// cvRound of a float32 value into uint8 (saturate_cast<uchar>(float)).
function saturateU8(x) {
  const r = roundHalfEven(x);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

// cv2.cvtColor(RGB -> GRAY) on uint8 as the pinned OpenCV (4.14) computes it: 15-bit fixed point.
export function rgbaToGray(rgba, width, height) {
  const gray = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < gray.length; i++, p += 4) {
    gray[i] = (rgba[p] * 9798 + rgba[p + 1] * 19235 + rgba[p + 2] * 3735 + 16384) >> 15;
  }
  return gray;
}

export function rgbaToRgb(rgba, width, height) {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, p = 0, q = 0; i < width * height; i++, p += 4, q += 3) {
    rgb[q] = rgba[p]; rgb[q + 1] = rgba[p + 1]; rgb[q + 2] = rgba[p + 2];
  }
  return rgb;
}

// --- cv2.resize ---------------------------------------------------------------------------------

// OpenCV's computeResizeAreaTab: which source pixels (and weights) make each destination pixel.
function areaTab(ssize, dsize, cn, scale) {
  const tab = [];
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale, fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) tab.push([dx * cn, (sx1 - 1) * cn, f32((sx1 - fsx1) / cellWidth)]);
    for (let sx = sx1; sx < sx2; sx++) tab.push([dx * cn, sx * cn, f32(1.0 / cellWidth)]);
    if (fsx2 - sx2 > 1e-3) tab.push([dx * cn, sx2 * cn, f32(Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth)]);
  }
  return tab;
}

// INTER_AREA with non-integer scales (ResizeArea_Invoker): float32 sums, rounded once.
function resizeAreaGeneral(src, sw, sh, cn, dw, dh, scaleX, scaleY) {
  const dst = new Uint8Array(dw * dh * cn);
  const xtab = areaTab(sw, dw, cn, scaleX), ytab = areaTab(sh, dh, 1, scaleY);
  const width = dw * cn;
  const buf = new Float64Array(width), sum = new Float64Array(width);
  let prevDy = ytab[0][0];
  for (const [dy, sy, beta] of ytab) {
    buf.fill(0);
    const row = sy * sw * cn;
    for (const [di, si, alpha] of xtab) {
      for (let c = 0; c < cn; c++) buf[di + c] = f32(buf[di + c] + f32(src[row + si + c] * alpha));
    }
    if (dy !== prevDy) {
      const out = prevDy * width;
      for (let x = 0; x < width; x++) { dst[out + x] = saturateU8(sum[x]); sum[x] = f32(beta * buf[x]); }
      prevDy = dy;
    } else {
      for (let x = 0; x < width; x++) sum[x] = f32(sum[x] + f32(beta * buf[x]));
    }
  }
  const out = prevDy * width;
  for (let x = 0; x < width; x++) dst[out + x] = saturateU8(sum[x]);
  return dst;
}

// INTER_AREA with integer scales (ResizeAreaFast_Invoker; 2x2 has its own rounding).
function resizeAreaFast(src, sw, sh, cn, dw, dh, sx, sy) {
  const dst = new Uint8Array(dw * dh * cn);
  const area = sx * sy, scale = f32(1 / area);
  const whole = Math.floor(sw / sx) * cn; // destination values whose cells lie inside the source
  for (let dy = 0; dy < dh; dy++) {
    const y0 = dy * sy;
    const w = y0 + sy <= sh ? whole : 0;
    for (let dx = 0; dx < dw * cn; dx++) {
      const c = dx % cn, x0 = Math.floor(dx / cn) * sx;
      let total = 0, count = 0;
      for (let j = 0; j < sy && y0 + j < sh; j++) {
        for (let i = 0; i < sx && x0 + i < sw; i++) { total += src[((y0 + j) * sw + x0 + i) * cn + c]; count++; }
      }
      if (dx < w) dst[dy * dw * cn + dx] = sx === 2 && sy === 2 ? (total + 2) >> 2 : saturateU8(f32(total * scale));
      else dst[dy * dw * cn + dx] = count ? saturateU8(f32(total / count)) : 0;
    }
  }
  return dst;
}

// INTER_LINEAR on uint8: 11-bit fixed-point weights, the vertical pass as OpenCV's SIMD code rounds it.
function resizeLinear(src, sw, sh, cn, dw, dh, scaleX, scaleY) {
  const ONE = 2048;
  const xofs = new Int32Array(dw), alpha = new Int32Array(dw * 2);
  for (let dx = 0; dx < dw; dx++) {
    let fx = f32((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) { fx = 0; sx = 0; }
    if (sx >= sw - 1) { fx = 0; sx = sw - 1; }
    xofs[dx] = sx;
    alpha[dx * 2] = saturateShort(f32(f32(1 - fx) * ONE));
    alpha[dx * 2 + 1] = saturateShort(f32(fx * ONE));
  }
  const hresize = (y) => {
    const row = new Int32Array(dw * cn);
    for (let dx = 0; dx < dw; dx++) {
      const sx = xofs[dx], next = Math.min(sx + 1, sw - 1);
      for (let c = 0; c < cn; c++) {
        const a = src[(y * sw + sx) * cn + c], b = src[(y * sw + next) * cn + c];
        row[dx * cn + c] = a * alpha[dx * 2] + b * alpha[dx * 2 + 1];
      }
    }
    return row;
  };
  const dst = new Uint8Array(dw * dh * cn);
  for (let dy = 0; dy < dh; dy++) {
    let fy = f32((dy + 0.5) * scaleY - 0.5);
    const sy = Math.floor(fy);
    fy = f32(fy - sy);
    const b0 = saturateShort(f32(f32(1 - fy) * ONE)), b1 = saturateShort(f32(fy * ONE));
    const r0 = hresize(Math.min(Math.max(sy, 0), sh - 1)), r1 = hresize(Math.min(Math.max(sy + 1, 0), sh - 1));
    for (let x = 0; x < dw * cn; x++) {
      const v = (((r0[x] >> 4) * b0) >> 16) + (((r1[x] >> 4) * b1) >> 16);
      const out = (v + 2) >> 2;
      dst[dy * dw * cn + x] = out < 0 ? 0 : out > 255 ? 255 : out;
    }
  }
  return dst;
}

function saturateShort(x) {
  const r = roundHalfEven(x);
  return r < -32768 ? -32768 : r > 32767 ? 32767 : r;
}

// cv2.resize(src, (dw, dh), interpolation) for uint8 images with cn channels.
export function resize(src, sw, sh, cn, dw, dh, interpolation) {
  if (sw === dw && sh === dh) return Uint8Array.from(src);
  const scaleX = 1 / (dw / sw), scaleY = 1 / (dh / sh);
  if (interpolation === "area" && scaleX >= 1 && scaleY >= 1) {
    const ix = Math.round(scaleX), iy = Math.round(scaleY);
    if (Math.abs(scaleX - ix) < Number.EPSILON && Math.abs(scaleY - iy) < Number.EPSILON) {
      return resizeAreaFast(src, sw, sh, cn, dw, dh, ix, iy);
    }
    return resizeAreaGeneral(src, sw, sh, cn, dw, dh, scaleX, scaleY);
  }
  return resizeLinear(src, sw, sh, cn, dw, dh, scaleX, scaleY);
}

// --- Detection (emotion/ml/detect.py) ------------------------------------------------------------

// Anchor centres (896, 2) of the short-range model, as blazeface_anchors() computes them.
export function blazefaceAnchors() {
  const anchors = [];
  for (const [stride, perCell] of [[8, 2], [16, 6]]) {
    const cells = BLAZEFACE_SIZE / stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) anchors.push([f32((x + 0.5) / cells), f32((y + 0.5) / cells)]);
      }
    }
  }
  return anchors;
}
const ANCHORS = blazefaceAnchors();

// The detector's input: the RGB frame letterboxed onto 128x128 and scaled to [-1, 1].
export function letterbox(rgb, width, height) {
  const scale = BLAZEFACE_SIZE / Math.max(height, width);
  const w = Math.max(1, roundHalfEven(width * scale)), h = Math.max(1, roundHalfEven(height * scale));
  const padX = Math.floor((BLAZEFACE_SIZE - w) / 2), padY = Math.floor((BLAZEFACE_SIZE - h) / 2);
  const small = resize(rgb, width, height, 3, w, h, "area");
  const input = new Float32Array(BLAZEFACE_SIZE * BLAZEFACE_SIZE * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w * 3; x++) input[((y + padY) * BLAZEFACE_SIZE) * 3 + padX * 3 + x] = small[y * w * 3 + x] / 127.5 - 1.0;
  }
  return { input, scale, padX, padY };
}

// cv::dnn's rectOverlap of two Rect2d: 1.f - (float)jaccardDistance, compared with the float threshold.
function overlap(a, b) {
  const areaA = a[2] * a[3], areaB = b[2] * b[3];
  if (areaA + areaB <= Number.EPSILON) return 1;
  const x1 = Math.max(a[0], b[0]), y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]), y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = x2 - x1 > 0 && y2 - y1 > 0 ? (x2 - x1) * (y2 - y1) : 0;
  return f32(1 - f32(1.0 - inter / (areaA + areaB - inter)));
}

// cv2.dnn.NMSBoxes: by score, stable, keeping a box unless it overlaps a kept one by more than iou.
function nms(rects, scores, minScore, iou) {
  const order = scores.map((s, i) => [s, i]).filter(([s]) => s > minScore);
  order.sort((a, b) => b[0] - a[0]);
  const kept = [];
  for (const [, i] of order) {
    if (kept.every((k) => overlap(rects[i], rects[k]) <= f32(iou))) kept.push(i);
  }
  return kept;
}

// Face boxes [x, y, w, h] in frame pixels, largest first, from the model's raw outputs.
export function decodeBoxes(regressors, logits, frame, params) {
  const { scale, padX, padY, width, height } = frame;
  const rects = [], scores = [];
  for (let i = 0; i < ANCHORS.length; i++) {
    const logit = Math.min(80, Math.max(-80, logits[i]));
    const score = f32(1 / f32(1 + f32(Math.exp(-logit))));
    if (!(score >= params.min_score)) continue;
    const r = regressors.subarray(i * 16, i * 16 + 4);
    const sizeX = f32(f32(r[2] / BLAZEFACE_SIZE) * BOX_SCALE);
    const rawSizeY = f32(r[3] / BLAZEFACE_SIZE);
    const cx = f32(f32(r[0] / BLAZEFACE_SIZE) + ANCHORS[i][0]);
    const cy = f32(f32(f32(r[1] / BLAZEFACE_SIZE) + ANCHORS[i][1]) - f32(BOX_SHIFT_UP * rawSizeY));
    const sizeY = f32(rawSizeY * BOX_SCALE);
    const x = f32(f32(cx - f32(sizeX / 2)) * BLAZEFACE_SIZE) - padX;
    const y = f32(f32(cy - f32(sizeY / 2)) * BLAZEFACE_SIZE) - padY;
    rects.push([x / scale, y / scale, f32(sizeX * BLAZEFACE_SIZE) / scale, f32(sizeY * BLAZEFACE_SIZE) / scale]);
    scores.push(score);
  }
  const boxes = nms(rects, scores, params.min_score, params.nms_iou).map(function (i) {
    const r = rects[i];
    const x0 = Math.max(0, roundHalfEven(r[0])), y0 = Math.max(0, roundHalfEven(r[1]));
    const x1 = Math.min(width, roundHalfEven(r[0] + r[2])), y1 = Math.min(height, roundHalfEven(r[1] + r[3]));
    return [x0, y0, x1 - x0, y1 - y0];
  }).filter((b) => b[2] > 0 && b[3] > 0);
  return stableSortBy(boxes, (b) => -b[2] * b[3]);
}

function stableSortBy(items, key) {
  return items.map((item, i) => [key(item), i, item]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((e) => e[2]);
}

// --- The face crop, its quality and the classifier's input ----------------------------------------

export function padBox(box, width, height) {
  const [x, y, w, h] = box;
  const dx = roundHalfEven(w * FACE_PADDING), dy = roundHalfEven(h * FACE_PADDING);
  const x0 = Math.max(0, x - dx), y0 = Math.max(0, y - dy);
  const x1 = Math.min(width, x + w + dx), y1 = Math.min(height, y + h + dy);
  return [x0, y0, x1 - x0, y1 - y0];
}

export function cropFace(gray, width, box) {
  const [x, y, w, h] = box;
  const region = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) region.set(gray.subarray((y + j) * width + x, (y + j) * width + x + w), j * w);
  return resize(region, w, h, 1, FACE_SIZE, FACE_SIZE, Math.min(w, h) >= FACE_SIZE ? "area" : "linear");
}

function variance(values) {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let total = 0;
  for (const v of values) total += (v - mean) * (v - mean);
  return total / values.length;
}

// emotion.ml.quality.face_quality: the weakest of sharpness, size and exposure, in [0, 1].
export function faceQuality(face, facePx) {
  const n = FACE_SIZE;
  const at = (x, y) => { // BORDER_REFLECT_101
    const xx = x < 0 ? -x : x >= n ? 2 * n - 2 - x : x, yy = y < 0 ? -y : y >= n ? 2 * n - 2 - y : y;
    return face[yy * n + xx];
  };
  const laplacian = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) laplacian[y * n + x] = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4 * at(x, y);
  }
  const std = Math.sqrt(variance(face));
  const sharpness = Math.min(1, variance(laplacian) / Math.max(std, 1) ** 2 / SHARPNESS_REF);
  return Math.min(sharpness, Math.min(1, facePx / SIZE_REF), Math.min(1, std / EXPOSURE_REF));
}

export function networkInput(face) {
  const input = new Float32Array(face.length);
  for (let i = 0; i < face.length; i++) input[i] = face[i] / 255;
  return input;
}

// emotion.ml.calibrate.apply_temperature: softmax(log p / T), in float64, rounded to float32.
export function applyTemperature(probs, temperature) {
  if (temperature === 1) return Float32Array.from(probs);
  const logits = Array.from(probs, (p) => Math.log(Math.min(1, Math.max(TEMPERATURE_EPS, p))) / temperature);
  const top = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - top));
  const total = exp.reduce((a, b) => a + b, 0);
  return Float32Array.from(exp, (e) => e / total);
}

// --- The analyser -----------------------------------------------------------------------------------

async function runModel(lite, model, data, shape) {
  const input = new lite.Tensor(data, shape);
  try {
    const outputs = await model.run(input);
    try {
      return outputs.map((t) => t.toTypedArray().slice());
    } finally {
      outputs.forEach((t) => t.delete());
    }
  } finally {
    input.delete();
  }
}

// LiteRT.js loads its WebAssembly once per page (a second loadLiteRt throws): every analyser shares it.
let runtime = null;

function loadRuntime(runtimeUrl) {
  if (!runtime) {
    runtime = import(runtimeUrl).then(function (lite) {
      return lite.loadLiteRt(new URL("wasm/", new URL(runtimeUrl, location.href)).href).then(() => lite);
    });
    runtime.catch(function () { runtime = null; }); // a failed load may be retried
  }
  return runtime;
}

// Loads the runtime and both models; resolves to analyse(rgba, width, height) -> the frame's report.
export async function createAnalyzer(config) {
  const lite = await loadRuntime(config.runtimeUrl);
  const [detector, classifier] = await Promise.all([
    lite.loadAndCompile(config.detectorUrl, { accelerator: "wasm" }),
    lite.loadAndCompile(config.modelUrl, { accelerator: "wasm" }),
  ]);
  const outputs = detector.getOutputDetails();
  const regressorsAt = outputs.findIndex((o) => o.shape[o.shape.length - 1] === 16);
  const params = config.parameters;

  async function detect(rgb, width, height) {
    const frame = letterbox(rgb, width, height);
    const raw = await runModel(lite, detector, frame.input, [1, BLAZEFACE_SIZE, BLAZEFACE_SIZE, 3]);
    return decodeBoxes(raw[regressorsAt], raw[1 - regressorsAt], { ...frame, width, height }, params);
  }

  async function classify(face) {
    const [probs] = await runModel(lite, classifier, networkInput(face), [1, FACE_SIZE, FACE_SIZE, 1]);
    return applyTemperature(probs, params.temperature);
  }

  // What the worker's classify_single_face decides for these pixels, as the observations API takes it.
  async function analyse(rgba, width, height) {
    const boxes = await detect(rgbaToRgb(rgba, width, height), width, height);
    const report = {
      faces: boxes.length, box: null, label: null, confidence: null, probabilities: null, quality: null, boxes,
    };
    if (!boxes.length) return report;
    const area = (b) => b[2] * b[3];
    if (boxes.length > 1 && area(boxes[1]) >= params.several_faces_ratio * area(boxes[0])) return report;
    report.box = boxes[0]; // the shopper's face, whose position names the next region (emotion.roi)
    const box = padBox(boxes[0], width, height);
    const face = cropFace(rgbaToGray(rgba, width, height), width, box);
    report.quality = faceQuality(face, Math.min(box[2], box[3]));
    if (params.quality_threshold !== null && report.quality < params.quality_threshold) return report;
    const probs = await classify(face);
    let best = 0;
    for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
    report.label = params.classes[best];
    report.confidence = probs[best];
    report.probabilities = Object.fromEntries(params.classes.map((name, k) => [name, probs[k]]));
    return report;
  }

  return { analyse, detect, classify, modelVersion: params.model_version };
}
