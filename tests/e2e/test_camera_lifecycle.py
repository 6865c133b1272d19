"""The webcam's lifecycle in a real browser: on only while a product is on screen, one stream at
most, released at Stop, on pages without a product, and a few seconds after the tab is hidden or
the product scrolled away. Each step counts the live video tracks the page holds (a live track is
the camera light on). Also: cards on list pages are never captured nor logged as views, and the
consent offer stays away after a decline or a Stop."""

import itertools
import json
import time
from pathlib import Path

import pytest
from django.urls import reverse

from shop.models import Interaction, Order
from tests.e2e.conftest import answer_offer, live_tracks, open_camera_settings, shot, streams_opened

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RELEASED_AFTER_MS = 3000  # emotion.js's RELEASE_MS
DAY_MS = 24 * 60 * 60 * 1000


def wait_state(page, state: str, timeout: float = 10_000) -> None:
    page.wait_for_selector(f"#emotion-capture[data-state='{state}']", state="attached", timeout=timeout)


def wait_live(page, count: int, timeout_s: float = 10) -> None:
    """Until the page holds exactly ``count`` live video tracks (a stopped track ends at once)."""
    deadline = time.monotonic() + timeout_s
    while live_tracks(page) != count:
        assert time.monotonic() < deadline, f"{live_tracks(page)} live video tracks, expected {count}"
        page.wait_for_timeout(100)


def allow_from_camera_settings(page) -> None:
    """Camera settings, "Allow camera", and back to the product at the top of the page."""
    open_camera_settings(page)
    page.click("#consent-accept")
    page.wait_for_selector("#consent-dialog", state="hidden")
    page.wait_for_selector("body:not(.modal-open)", state="attached")
    page.evaluate("window.scrollTo(0, 0)")


def test_one_stream_at_most_and_none_without_a_product_on_screen(new_page, console, live_server, make_product):
    product = make_product(name="Aurora Headphones")
    make_product(name="Borealis Speaker")
    page = new_page()
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)

    # Consent on a product page: one stream, capturing.
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    answer_offer(page, "#consent-accept")
    wait_state(page, "capturing")
    wait_live(page, 1)

    # "Allow camera" again from Camera settings while the camera is on: still one stream.
    allow_from_camera_settings(page)
    wait_state(page, "capturing")
    page.wait_for_timeout(1500)
    assert streams_opened(page) == 1 and live_tracks(page) == 1

    # Stop: the camera is released at once.
    page.click("#emotion-stop")
    wait_state(page, "stopped")
    wait_live(page, 0, timeout_s=1)
    shot(page, "lifecycle-1-stopped")

    # Allowed again, then pages without a product: the camera is never opened there.
    allow_from_camera_settings(page)
    wait_state(page, "capturing")
    wait_live(page, 1)
    page.click(f"form[action$='/cart/add/{product.pk}/'] button[type=submit]")
    for name, url in [
        ("cart", reverse("shop:cart")),
        ("checkout", reverse("shop:checkout")),
        ("list", reverse("shop:products")),
        ("home", reverse("shop:home")),
    ]:
        page.goto(f"{live_server.url}{url}")
        wait_state(page, "consented")
        page.wait_for_timeout(1000)
        assert streams_opened(page) == 0 and live_tracks(page) == 0, name
        assert page.is_visible("#emotion-standby"), name
    page.goto(f"{live_server.url}{reverse('shop:checkout')}")
    page.fill("#id_full_name", "Ada Lovelace")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_address", "1 Analytical Road")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{reverse('shop:order', args=[Order.objects.get().pk])}")
    wait_state(page, "consented")
    page.wait_for_timeout(1000)
    assert streams_opened(page) == 0 and live_tracks(page) == 0, "order confirmation"
    shot(page, "lifecycle-2-order-confirmation")

    # Back to a product: the camera is reopened.
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    wait_state(page, "capturing")
    wait_live(page, 1)

    # The tab hidden: paused, then released a few seconds later; reopened when shown again.
    page.evaluate("window.__setHidden(true)")
    wait_state(page, "paused", timeout=1000)
    wait_live(page, 0, timeout_s=RELEASED_AFTER_MS / 1000 + 2)
    page.evaluate("window.__setHidden(false)")
    wait_state(page, "capturing")
    wait_live(page, 1)

    # The product scrolled away: the same.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    wait_state(page, "paused", timeout=1000)
    wait_live(page, 0, timeout_s=RELEASED_AFTER_MS / 1000 + 2)
    page.evaluate("window.scrollTo(0, 0)")
    wait_state(page, "capturing")
    wait_live(page, 1)
    assert streams_opened(page) == 3  # this page's three openings, one at a time
    assert frames, "frames were sent while capturing"

    # Stop once more: nothing live, nothing sent afterwards.
    page.click("#emotion-stop")
    wait_live(page, 0, timeout_s=1)
    sent = len(frames)
    page.wait_for_timeout(1500)
    assert len(frames) == sent
    assert console.csp_violations == [], console.csp_violations


def test_cards_in_a_list_are_neither_views_nor_captured(new_page, live_server, make_product):
    products = [make_product(name=f"Card {i}") for i in range(3)]
    page = new_page()
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if "/api/v1/frames/" in r.url else None)
    page.goto(f"{live_server.url}/products/")
    answer_offer(page, "#consent-accept")
    wait_state(page, "consented")
    page.goto(f"{live_server.url}/")
    wait_state(page, "consented")
    page.wait_for_timeout(2000)
    assert frames == [] and streams_opened(page) == 0
    assert not Interaction.objects.filter(kind="view").exists(), "a card on screen is not a view"
    page.click(f".product-card[data-product-id='{products[1].pk}'] a.stretched-link")
    wait_state(page, "capturing")
    view = Interaction.objects.get(kind="view")
    assert view.product == products[1]


def test_the_offer_stays_away_after_a_decline_or_a_stop(new_page, live_server, product, settings):
    page = new_page()
    url = f"{live_server.url}{product.get_absolute_url()}"
    page.goto(url)
    page.wait_for_selector("#emotion-offer:not([hidden])")
    answer_offer(page, "#consent-decline")
    page.reload()
    wait_state(page, "off")
    assert page.is_hidden("#emotion-offer")

    # Allowed from Camera settings despite the decline, then stopped: no offer right after, nor
    # on the next pages, nor after signing up.
    allow_from_camera_settings(page)
    wait_state(page, "capturing")
    page.click("#emotion-stop")
    wait_state(page, "stopped")
    page.wait_for_timeout(500)
    assert page.is_hidden("#emotion-offer")
    page.goto(f"{live_server.url}{reverse('signup')}")
    page.fill("#id_username", "ada")
    page.fill("#id_password1", "a long pass phrase 42")
    page.fill("#id_password2", "a long pass phrase 42")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/**")
    page.goto(url)
    wait_state(page, "off")
    assert page.is_hidden("#emotion-offer")

    # Camera settings always offers it.
    open_camera_settings(page)
    assert page.is_visible("#consent-accept")
    page.click("#consent-dialog .btn-close")

    # The period (EMOTION_REOFFER_DAYS) over: offered again.
    settings.EMOTION_REOFFER_DAYS = 2
    page.evaluate(f"localStorage.setItem('moodshop.camera.offer-hidden-at', String(Date.now() - {DAY_MS}))")
    page.reload()
    wait_state(page, "off")
    assert page.is_hidden("#emotion-offer")
    page.evaluate(f"localStorage.setItem('moodshop.camera.offer-hidden-at', String(Date.now() - {3 * DAY_MS}))")
    page.reload()
    page.wait_for_selector("#emotion-offer:not([hidden])")
    assert page.get_attribute("#emotion-capture", "data-state") == "offered"


def test_download_my_data_from_camera_settings(new_page, live_server, product):
    page = new_page(accept_downloads=True)
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    answer_offer(page, "#consent-accept")
    wait_state(page, "capturing")
    open_camera_settings(page)
    with page.expect_download() as info:
        page.click("#emotion-download")
    download = info.value
    assert download.suggested_filename.endswith(".json")
    saved = json.loads(Path(download.path()).read_text())
    answer = page.context.request.get(f"{live_server.url}{reverse('emotion:emotion-data')}")
    assert answer.ok and "attachment" in answer.headers["content-disposition"]
    assert saved == answer.json()
    assert [c["withdrawn_at"] for c in saved["consents"]] == [None]  # the consent just given
    assert set(saved) == {"consents", "observations", "reaction_events", "summaries"}
    assert page.inner_text("#emotion-download-status") == "Downloaded."


def test_the_page_sends_frames_when_the_server_says(new_page, console, live_server, make_product):
    """Each answer says when to send the next frame (202: next_frame_ms; 429/503: Retry-After), and
    the page follows it, one frame at a time, instead of its own fixed 2 frames a second."""
    product = make_product(name="Aurora Headphones")
    page = new_page()
    sent: list[float] = []
    answers = iter(
        [(202, {"status": "queued", "seq": 0, "next_frame_ms": 1500}, {})] * 3
        + [(429, {"error": "behind", "code": "backlog", "retry_after_seconds": 3}, {"Retry-After": "3"})]
    )

    def answer(route) -> None:
        sent.append(time.monotonic())
        status, body, headers = next(answers, (202, {"status": "queued", "seq": 0, "next_frame_ms": 500}, {}))
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body), headers=headers)

    page.route("**/api/v1/frames/**", answer)
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    answer_offer(page, "#consent-accept")
    wait_state(page, "capturing")
    deadline = time.monotonic() + 20
    while len(sent) < 7:
        assert time.monotonic() < deadline, sent
        page.wait_for_timeout(100)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert all(1.4 <= gap <= 2.0 for gap in gaps[:3]), gaps  # next_frame_ms 1500
    assert 2.9 <= gaps[3] <= 3.6, gaps  # Retry-After: 3 s
    assert all(0.4 <= gap <= 0.9 for gap in gaps[4:]), gaps  # back to 500 ms
