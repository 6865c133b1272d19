"""The API documentation pages in a real browser: Swagger UI and Redoc render the project's
schema from vendored files, with no request leaving 127.0.0.1."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 900})


def visit(page, url: str) -> tuple[list[str], list[str]]:
    """Open ``url``; every request the page makes is recorded, and any to another host refused.
    Returns the requested URLs and the console's messages."""
    requests: list[str] = []
    console: list[str] = []

    def route(route) -> None:
        requests.append(route.request.url)
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(url)
    return requests, console


def test_swagger_ui_renders_every_operation_from_local_files(page, live_server):
    requests, console = visit(page, f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Moodshop API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 10
    assert "/api/v1/schema/" in " ".join(requests)
    assert [url for url in requests if urlsplit(url).hostname not in LOCAL_HOSTS] == []
    # Renders under its own strict CSP: no inline script was refused.
    assert not [line for line in console if "Content Security Policy" in line], console


def test_redoc_renders_the_schema_and_its_error_shape_from_local_files(page, live_server):
    requests, console = visit(page, f"{live_server.url}/api/v1/redoc/")
    page.wait_for_selector("h1:has-text('Moodshop API')", timeout=30_000)
    page.wait_for_selector("text=/api/v1/frames/")
    page.wait_for_timeout(500)
    assert [url for url in requests if urlsplit(url).hostname not in LOCAL_HOSTS] == []
    # The only thing the page's CSP refuses is Redoc's CDN logo (so it never leaves the host).
    refused = [line for line in console if "Content Security Policy" in line]
    assert all("cdn.redoc.ly" in line for line in refused), refused
