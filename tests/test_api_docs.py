"""API documentation: the root lists every endpoint, the schema documents the error shape,
the docs pages use vendored files and no inline script; the favicon is served."""

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def schema(client) -> dict:
    return yaml.safe_load(client.get("/api/v1/schema/").content)


def test_api_root_lists_every_operation_of_the_schema(client):
    body = client.get("/api/v1/").json()
    operations = {(m.upper(), p) for p, ops in schema(client)["paths"].items() for m in ops}
    assert {(e["method"], e["path"]) for e in body["endpoints"]} == operations
    assert len(operations) >= 10 and all(e["summary"] for e in body["endpoints"])
    for key, path in (("docs", "/api/v1/docs/"), ("redoc", "/api/v1/redoc/"), ("schema", "/api/v1/schema/")):
        assert body[key].endswith(path)


def test_every_error_response_has_the_json_error_shape(client):
    spec = schema(client)
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "code"]
    errors = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    errors += 1
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if method in ("post", "delete"):
                assert "403" in operation["responses"], (method, path)  # CSRF
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
    assert errors >= 15
    assert {"400", "403", "404", "413", "429"} <= set(spec["paths"]["/api/v1/frames/"]["post"]["responses"])


def test_throttled_operations_document_429():
    from rest_framework.views import APIView

    from moodshop.api import document_errors

    class Throttled(APIView):
        throttle_classes = [object]

    class Generator:
        endpoints = [("/a/", "^a/$", "GET", Throttled.as_view()), ("/b/", "^b/$", "GET", APIView.as_view())]

    spec = {"paths": {"/a/": {"get": {"responses": {}}}, "/b/": {"get": {"responses": {}}}}}
    document_errors(spec, Generator(), None, True)
    assert "429" in spec["paths"]["/a/"]["get"]["responses"] and "429" not in spec["paths"]["/b/"]["get"]["responses"]


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_vendored_files_and_no_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert sources and all(s.startswith(("/static/drf_spectacular_sidecar/", path)) for s in sources)
    assert "<script>" not in html and "<style" not in html and "googleapis" not in html
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline'" in policy


def test_swagger_init_script_is_served_by_the_docs_view(client):
    response = client.get("/api/v1/docs/?script=")
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_favicon(client):
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
