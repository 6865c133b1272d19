"""Chromium with a fake webcam, and probes the pages carry: the camera streams a page opened, and
every Content-Security-Policy violation."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests.e2e.fake_camera import write_face_video
from tests.workers import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

# Runs in every document before its own scripts. Keeps a reference to every MediaStream the page
# got from getUserMedia, so a test can count the video tracks still live (a live track is the
# camera light on); logs CSP violations to the console; and lets a test hide the tab (headless
# Chromium never hides one): the page sees what a tab switch shows it, visibilityState and the event.
PROBES = """
(() => {
  const streams = [];
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    getUserMedia(constraints).then((s) => { streams.push(s); return s; });
  window.__camera = {
    opened: () => streams.length,
    live: () => streams.flatMap((s) => s.getVideoTracks()).filter((t) => t.readyState === "live").length,
  };
  document.addEventListener("securitypolicyviolation", (e) =>
    console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")));
  window.__setHidden = (hidden) => {
    const state = hidden ? "hidden" : "visible";
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory) -> Path:
    return write_face_video(tmp_path_factory.mktemp("camera") / "face.y4m", face_seconds=6)


@pytest.fixture
def browser(fake_camera, monkeypatch):
    playwright = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed: apt-get install chromium chromium-driver (scripts/test.sh does it as root), "
            "or MOODSHOP_SKIP_BROWSER_TESTS=1 to skip the browser tests"
        )
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={fake_camera}",
            ],
        )
        yield browser
        # The ORM connections the test opened inside sync_playwright() live in its context, out of
        # reach of pytest-django, which would then fail to drop the test database at the end.
        connections.close_all()
        browser.close()


class Console:
    """Every console message of the pages it watches; CSP violations picked out."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page) -> None:
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m or "CSP violation" in m]


@pytest.fixture
def console() -> Iterator[Console]:
    watched = Console()
    yield watched
    print("Browser console:", *watched.messages, sep="\n  ")  # shown when the test fails


@pytest.fixture
def new_page(browser, console):
    """A page in its own browser context (own cookies and storage), with the probes and console watched."""

    def make(**options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        context.add_init_script(PROBES)
        page = context.new_page()
        console.watch(page)
        return page

    return make


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def live_tracks(page) -> int:
    return page.evaluate("window.__camera.live()")


def streams_opened(page) -> int:
    return page.evaluate("window.__camera.opened()")


def open_dialog(page, opener: str) -> None:
    page.click(opener)
    page.wait_for_selector("#consent-dialog.show")
    page.wait_for_timeout(400)  # Bootstrap ignores a dismissing click while the dialog fades in


def open_camera_settings(page) -> None:
    """The footer's "Camera settings": the consent dialog, whatever was answered before."""
    open_dialog(page, "footer button[data-bs-target='#consent-dialog']")


def answer_offer(page, button: str) -> None:
    """The consent bar's "Tell me more", then "Allow camera" or "No thanks"."""
    open_dialog(page, "#emotion-offer button")
    page.click(button)
    page.wait_for_selector("#consent-dialog", state="hidden")
