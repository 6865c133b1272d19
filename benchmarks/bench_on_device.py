"""Benchmark: what on-device mode (EMOTION_INFERENCE=browser) costs the shopper's browser and saves the server.

1. In headless Chromium (Debian's, WebAssembly on the CPU, no GPU), on a product page served by
   gunicorn with WhiteNoise's compressed static files: ms per frame of the page's analysis
   (BlazeFace detection, then crop, quality and the emotion model), over --frames analyses of a
   320x240 frame of a real face (scikit-image's astronaut); the bytes downloaded for the runtime
   and the two models (as sent, compressed where WhiteNoise compresses); the time from opening the
   product page (consent given) to the first label, with an empty and with a warm browser cache.
   For comparison, the same time to the live badge's first label in server mode.
2. The server's CPU time per frame in both modes: --shoppers shoppers at 2 frames/s for --seconds,
   posting JPEG frames (server mode: gunicorn validates and queues, the worker decodes, detects,
   classifies, stores and rebuilds reactions) or JSON observations (browser mode: gunicorn checks
   and stores, the worker only rebuilds reactions); CPU of every gunicorn and worker process
   from /proc, over the frames accepted.

    .venv/bin/python benchmarks/bench_on_device.py [--frames 200] [--shoppers 10] [--seconds 20]

Needs PostgreSQL and Redis on loopback (benchmarks/common.py) and Debian's Chromium.
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_ingest import face_jpeg, frame_request, prepare_shoppers, wait_until_up
from benchmarks.bench_worker import pool_pids, start_worker
from benchmarks.common import ROOT, drop_database, gunicorn, small_shop, write_result
from tests.e2e.fake_camera import write_face_video
from tests.e2e.parity_faces import HEIGHT, WIDTH, frames

DB = "moodshop_bench_on_device"
PORT = 8779
# Its own Redis database: rate-limit counters are per client address, and every benchmark's
# clients are 127.0.0.1, so sharing one with another benchmark running would throttle both.
REDIS_URL = os.environ.get("BENCH_ON_DEVICE_REDIS_URL", "redis://127.0.0.1:6379/12")
CHROMIUM = "/usr/bin/chromium"
TICKS = os.sysconf("SC_CLK_TCK")

TIME_ANALYSIS = """async ([frame, count, width, height]) => {
  const root = document.getElementById("emotion-capture");
  const m = await import(root.dataset.onDeviceUrl);
  const analyzer = await m.createAnalyzer({
    runtimeUrl: root.dataset.runtimeUrl, detectorUrl: root.dataset.detectorUrl, modelUrl: root.dataset.modelUrl,
    parameters: JSON.parse(root.dataset.parameters),
  });
  const rgb = Uint8Array.from(atob(frame), (c) => c.charCodeAt(0));
  const rgba = new Uint8ClampedArray(rgb.length / 3 * 4);
  for (let i = 0; i < rgb.length / 3; i++) { rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4); rgba[i * 4 + 3] = 255; }
  const detect = [], total = [];
  let label = null;
  for (let i = 0; i < count + 10; i++) {
    const t0 = performance.now();
    await analyzer.detect(m.rgbaToRgb(rgba, width, height), width, height);
    const t1 = performance.now();
    label = (await analyzer.analyse(rgba, width, height)).label;
    const t2 = performance.now();
    if (i >= 10) { detect.push(t1 - t0); total.push(t2 - t1); }
  }
  return { detect, total, label };
}"""


def process_cpu_ms(pid: int) -> float:
    """User + system CPU of one process, in ms (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS


def tree_cpu_ms(root: subprocess.Popen) -> float:
    return process_cpu_ms(root.pid) + sum(process_cpu_ms(pid) for pid in pool_pids(root))


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def start_chromium(playwright, camera: Path):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ],
    )


def consent(page, base: str) -> None:
    page.goto(f"{base}/")
    status = page.evaluate(
        """() => fetch("/api/v1/consent/", {method: "POST", headers: {"X-CSRFToken":
             document.cookie.match(/csrftoken=([^;]+)/)[1]}}).then((r) => r.status)"""
    )
    assert status == 201, status


def first_label(page, base: str, product_url: str, browser_mode: bool) -> dict[str, float]:
    """Seconds from opening the product page to the first label the page found, and to the badge's."""
    started = time.monotonic()
    seen: dict[str, float] = {}

    def on_request(request) -> None:
        if urlsplit(request.url).path == "/api/v1/observations/" and "observation" not in seen:
            seen["observation"] = time.monotonic() - started

    page.on("request", on_request)
    page.goto(f"{base}{product_url}")
    page.wait_for_function("() => document.getElementById('emotion-badge').dataset.label", timeout=120_000)
    seen["badge"] = time.monotonic() - started
    page.remove_listener("request", on_request)
    result = {"to_badge_s": round(seen["badge"], 2)}
    if browser_mode:
        result["to_first_label_s"] = round(seen["observation"], 2)
    return result


def downloads(page, base: str, product_url: str) -> dict[str, int]:
    """Bytes received (bodies as sent, headers included) for the product page, by what they were."""
    sizes: dict[str, int] = {"runtime": 0, "models": 0, "page_and_rest": 0}
    files: dict[str, int] = {}

    def on_finished(request) -> None:
        path = urlsplit(request.url).path
        size = request.sizes()
        received = size["responseBodySize"] + size["responseHeadersSize"]
        kind = "runtime" if "/vendor/litertjs/" in path else "models" if "/on-device/models/" in path else None
        sizes[kind or "page_and_rest"] += received
        if kind:
            files[path] = received

    page.on("requestfinished", on_finished)
    page.goto(f"{base}{product_url}")
    page.wait_for_function("() => document.getElementById('emotion-badge').dataset.label", timeout=120_000)
    page.wait_for_timeout(1000)
    page.remove_listener("requestfinished", on_finished)
    return {**sizes, "files": files}


def browser_figures(base: str, product_url: str, camera: Path, count: int) -> dict:
    from playwright.sync_api import sync_playwright

    face = frames()[4]  # the astronaut, face about 60 px wide, in the middle
    with sync_playwright() as playwright:
        chromium = start_chromium(playwright, camera)
        try:
            # Analysis speed, on a page without consent (the page's own capture never starts).
            page = chromium.new_page()
            page.goto(f"{base}{product_url}")
            timed = page.evaluate(TIME_ANALYSIS, [base64.b64encode(face.tobytes()).decode(), count, WIDTH, HEIGHT])
            page.context.close()
            # Downloads and time to the first label with an empty cache, then again with a warm one.
            context = chromium.new_context()
            page = context.new_page()
            consent(page, base)
            cold_bytes = downloads(page, base, product_url)
            page.goto(f"{base}/")
            warm = first_label(page, base, product_url, True)
            context.close()
            context = chromium.new_context()
            page = context.new_page()
            consent(page, base)
            cold = first_label(page, base, product_url, True)
            context.close()
        finally:
            chromium.close()
    return {
        "analysis": {
            "frames": count,
            "label": timed["label"],
            "detection": percentiles(timed["detect"]),
            "detection_and_classification": percentiles(timed["total"]),
        },
        "download_bytes_empty_cache": cold_bytes,
        "first_label_empty_cache": cold,
        "first_label_warm_cache": warm,
    }


def server_mode_first_label(base: str, product_url: str, camera: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = start_chromium(playwright, camera)
        try:
            page = chromium.new_page()
            consent(page, base)
            return first_label(page, base, product_url, False)
        finally:
            chromium.close()


def observation_request(base: str, line: str, seq: int, model_version: str) -> urllib.request.Request:
    """An observation as the page posts it (a ``prepare_shoppers`` line for the session)."""
    session, csrf, product, view = line.split("|")
    probabilities = {"angry": 0.02, "disgust": 0.01, "fear": 0.02, "happy": 0.86, "sad": 0.03, "surprise": 0.02}
    probabilities["neutral"] = 0.04
    body = {
        "product": int(product),
        "view": view,
        "seq": seq,
        "ts": time.time() * 1000,
        "model_version": model_version,
        "faces": 1,
        "label": "happy",
        "confidence": 0.86,
        "probabilities": probabilities,
        "quality": 0.8,
        "box": [130, 60, 60, 60],
        "frame_width": 320,
        "frame_height": 240,
    }
    return urllib.request.Request(
        f"{base}/api/v1/observations/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
        },
    )


def paced(lines: list[str], seconds: int, make_request) -> dict[str, int]:
    """Each shopper sends one request every 0.5 s; answers counted by status."""
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def shopper(line: str) -> None:
        seq, stop_at = 0, time.monotonic() + seconds
        while (tick := time.monotonic()) < stop_at:
            try:
                with urllib.request.urlopen(make_request(line, seq), timeout=10) as response:
                    code = str(response.status)
            except urllib.error.HTTPError as error:
                code = str(error.code)
            except OSError as error:
                code = type(error).__name__
            with lock:
                statuses[code] = statuses.get(code, 0) + 1
            seq += 1
            time.sleep(max(0.0, tick + 0.5 - time.monotonic()))

    threads = [threading.Thread(target=shopper, args=(line,)) for line in lines]
    for i, thread in enumerate(threads):
        thread.start()
        time.sleep(0.5 / len(threads) if i < len(threads) - 1 else 0)
    for thread in threads:
        thread.join()
    return statuses


def server_cpu(env: dict, mode: str, shoppers: int, seconds: int, work: Path, camera: Path) -> dict:
    """CPU per accepted frame of gunicorn and the worker, with ``shoppers`` at 2 frames/s.

    In server mode also the time from opening a product page to the live badge's first label.
    """
    from emotion.models import EmotionObservation, ReactionEvent
    from emotion.on_device import page_parameters
    from shop.models import Product

    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    mode_env = {**env, "EMOTION_INFERENCE": mode}
    lines_file = work / f"shoppers-{mode}.txt"
    prepare_shoppers(shoppers, lines_file)
    lines = lines_file.read_text().split()
    jpeg = face_jpeg()
    version = page_parameters().model_version
    worker = start_worker(mode_env, 1, work / f"worker-{mode}.log")
    server = gunicorn(mode_env, PORT, 1)
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_until_up(f"{base}/api/v1/consent/")
        product_url = Product.objects.order_by("pk").first().get_absolute_url()
        first = server_mode_first_label(base, product_url, camera) if mode == "server" else None
        observations_before = EmotionObservation.objects.count()
        web_before, worker_before = tree_cpu_ms(server), tree_cpu_ms(worker)
        if mode == "server":
            statuses = paced(lines, seconds, lambda line, seq: frame_request(base, line, seq, time.time() * 1000, jpeg))
        else:
            statuses = paced(lines, seconds, lambda line, seq: observation_request(base, line, seq, version))
        deadline = time.monotonic() + 60
        while queue.llen("emotion") and time.monotonic() < deadline:  # the worker finishes its backlog
            time.sleep(0.2)
        time.sleep(3)
        web_ms, worker_ms = tree_cpu_ms(server) - web_before, tree_cpu_ms(worker) - worker_before
        accepted = statuses.get("202" if mode == "server" else "201", 0)
        stored = EmotionObservation.objects.count() - observations_before
    finally:
        server.terminate()
        server.wait(timeout=30)
        worker.terminate()
        worker.wait(timeout=30)
        queue.flushdb()
    result = {
        "shoppers": shoppers,
        "seconds": seconds,
        "statuses": statuses,
        "accepted": accepted,
        "observations_stored": stored,
        "reaction_events": ReactionEvent.objects.count(),
        "web_cpu_ms_per_frame": round(web_ms / max(accepted, 1), 2),
        "worker_cpu_ms_per_frame": round(worker_ms / max(accepted, 1), 2),
        "server_cpu_ms_per_frame": round((web_ms + worker_ms) / max(accepted, 1), 2),
    }
    return result | ({"first_label": first} if first else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="analyses timed in the browser")
    parser.add_argument("--shoppers", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is not installed: apt-get install chromium")

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="moodshop-bench-on-device-"))
    static_root = work / "static"
    env = small_shop(DB, STATIC_ROOT=str(static_root), EMOTION_INFERENCE="browser", REDIS_URL=REDIS_URL)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    camera = write_face_video(work / "face.y4m", face_seconds=30)
    try:
        server = gunicorn(env, PORT, 2)
        try:
            base = f"http://127.0.0.1:{PORT}"
            wait_until_up(f"{base}/api/v1/consent/")
            from shop.models import Product

            product_url = Product.objects.order_by("pk").first().get_absolute_url()
            worker = start_worker(env, 1, work / "worker.log")
            try:
                browser = browser_figures(base, product_url, camera, args.frames)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=30)
        server_mode = server_cpu(env, "server", args.shoppers, args.seconds, work, camera)
        browser_mode = server_cpu(env, "browser", args.shoppers, args.seconds, work, camera)
    finally:
        drop_database(DB)
    write_result(
        "on_device",
        {
            "browser": {"chromium": "Debian's, headless, --disable-gpu (LiteRT.js on WebAssembly)", **browser},
            "server_cpu": {"server_mode": server_mode, "browser_mode": browser_mode},
            "load_average_1_5_15": {
                "before": [round(v, 2) for v in load_before],
                "after": [round(v, 2) for v in os.getloadavg()],
            },
            "notes": (
                "CPU is user+system time of every gunicorn (1 worker) and Celery worker (1 pool process) "
                "process while shoppers send at 2 frames/s, over the frames accepted; the browser-mode "
                "worker only rebuilds reactions. Both share the host's 2 cores with everything else."
            ),
        },
    )


if __name__ == "__main__":
    main()
