"""With PostgreSQL out of reach, the shop answers 503 with Retry-After (JSON on the API), never
a 500, and recovers by itself once the database is back."""

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from tests.reliability.services import Browser, TcpProxy, web_server
from tests.workers import REDIS_URL, shared_database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_pages_and_api_answer_503_while_the_database_is_cut(tmp_path, product, face_jpeg):
    browser = Browser.consenting(product)
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    parts = urlsplit(shared_database_url())
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}"))
    page, api = product.get_absolute_url(), "/api/v1/consent/"
    try:
        with web_server(REDIS_URL, tmp_path / "web.log", {"DATABASE_URL": via_proxy}) as base:
            assert fetch(base + page)[0] == 200
            proxy.cut()
            status, headers, body = fetch(base + page)
            assert status == 503 and headers["Retry-After"] == "5", status
            assert b"briefly unavailable" in body
            status, headers, body = fetch(base + api)
            assert status == 503 and headers["Retry-After"] == "5", status
            assert json.loads(body)["code"] == "database_unavailable"
            assert browser.post_frame(base, face_jpeg, 0) == 503
            proxy.restore()
            deadline = time.monotonic() + 30
            while fetch(base + page)[0] != 200:
                assert time.monotonic() < deadline, "the shop did not recover"
                time.sleep(0.5)
            assert browser.post_frame(base, face_jpeg, 1) == 202
        log = (tmp_path / "web.log").read_text()
    finally:
        proxy.close()
    assert "Database unavailable" in log and "Traceback" not in log
