"""The browser-side guard on every page type: a strict CSP, the camera for this origin only, and
markup that a strict CSP can run (no inline script, style or event handler). The API docs pages
alone get the two additions their UIs need."""

import io
import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from recommender.services import Recommendation
from shop.models import Order

pytestmark = pytest.mark.django_db

STRICT_CSP = {
    "default-src": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
# What a strict CSP blocks in markup: inline <script> (without src), <style>, style="" and on*="".
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def csp(response) -> dict[str, set[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: set(values) for name, *values in directives}


# The API docs pages alone may add what Swagger UI and Redoc need (moodshop/docs.py): inline
# styles and Redoc's blob: search worker; still no inline or foreign script.
DOCS_CSP = STRICT_CSP | {"style-src": {"'self'", "'unsafe-inline'"}, "worker-src": {"'self'", "blob:"}}
DOCS_PAGES = {"API docs", "API docs init script", "API redoc"}


def assert_guarded(response, name: str) -> None:
    assert csp(response) == (DOCS_CSP if name in DOCS_PAGES else STRICT_CSP), name
    policy = dict(feature.split("=", 1) for feature in (f.strip() for f in response["Permissions-Policy"].split(",")))
    assert policy["camera"] == "(self)", name
    others = {"microphone", "geolocation", "display-capture", "payment", "usb", "serial", "bluetooth", "hid"}
    assert all(policy[feature] == "()" for feature in others), (name, policy)
    assert all(value == "()" for feature, value in policy.items() if feature != "camera"), (name, policy)
    assert response["Referrer-Policy"] == "same-origin", name
    assert response["X-Content-Type-Options"] == "nosniff", name
    assert response["X-Frame-Options"] == "DENY", name


def assert_no_inline_code(response, name: str) -> None:
    html = response.content.decode()
    assert not INLINE.findall(html), (name, INLINE.findall(html))


@pytest.fixture
def pages(client: Client, product, make_product, django_user_model, face_jpeg) -> dict[str, object]:
    """One response per page type, with data in it (a cart line, an order, recommendation panels)."""
    make_product(name="Another thing")
    got = {
        "home": client.get("/"),
        "list": client.get("/products/"),
        "category": client.get(product.category.get_absolute_url()),
        "product": client.get(product.get_absolute_url()),
        "login": client.get(reverse("login")),
        "signup": client.get(reverse("signup")),
    }
    client.post(reverse("shop:cart-add", args=[product.pk]), {"quantity": 1})
    got["cart"] = client.get(reverse("shop:cart"))
    got["checkout"] = client.get(reverse("shop:checkout"))
    client.post(
        reverse("shop:checkout"), {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Road"}
    )
    order = Order.objects.get()
    got["order confirmation"] = client.get(reverse("shop:order", args=[order.pk]))
    got["home"] = client.get("/")
    got["not found"] = client.get("/no-such-page/")
    got["API"] = client.get("/api/v1/consent/")
    got["API schema"] = client.get("/api/v1/schema/")
    got["API root"] = client.get(reverse("api-root"))
    got["API docs"] = client.get(reverse("api-docs"))
    got["API docs init script"] = client.get(reverse("api-docs") + "?script")
    got["API redoc"] = client.get(reverse("api-redoc"))
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "x" * 12))
    got["admin"] = staff.get("/admin/")
    got["admin product list"] = staff.get(reverse("admin:shop_product_changelist"))
    got["admin analytics"] = staff.get(reverse("admin:insights_productreaction_changelist"))
    got["admin product analytics"] = staff.get(reverse("admin:insights_productreaction_product", args=[product.pk]))
    got["admin model report"] = staff.get(reverse("admin:emotion_modelreport_changelist"))
    got["admin emotion lab"] = staff.get(reverse("admin:emotion_emotionlab_changelist"))
    photo = io.BytesIO(face_jpeg)
    photo.name = "face.jpg"
    got["admin emotion lab result"] = staff.post(reverse("admin:emotion_emotionlab_changelist"), {"image": photo})
    return got


def test_every_page_type_sends_the_browser_guard(pages):
    for name, response in pages.items():
        assert response.status_code in (200, 404), (name, response.status_code)
        assert_guarded(response, name)


def test_no_page_needs_inline_script_or_style(pages):
    html_pages = {name: r for name, r in pages.items() if r["Content-Type"].startswith("text/html")}
    assert {"home", "product", "cart", "checkout", "order confirmation", "admin analytics"} <= html_pages.keys()
    assert b'class="em-bar"' in pages["admin emotion lab result"].content  # a face's bars were drawn
    for name, response in html_pages.items():
        if name not in DOCS_PAGES:  # the docs pages have no inline script, but their UIs add styles
            assert_no_inline_code(response, name)
    for name in DOCS_PAGES & html_pages.keys():
        assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=", pages[name].content.decode()), name


def test_the_recommendation_panel_and_the_error_page_have_no_inline_code(product, rf):
    panel = render_to_string(
        "recommender/_panel.html",
        {
            "title": "Recommended for you",
            "refresh_url": "/x",
            "cards": [(Recommendation(product, 1, 1, 0, "popular"), product.get_absolute_url() + "?rl=x&rp=0")],
        },
        request=rf.get("/"),
    )
    assert "js/recommendations.js" in panel and product.name in panel
    for html in (panel, render_to_string("500.html")):
        assert not INLINE.findall(html), INLINE.findall(html)
