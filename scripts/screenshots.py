"""Regenerate the README's screenshots (docs/*.png) from a fresh demo, so they stay true.

A throwaway demo (SQLite, media and models in a temporary folder; the developer's own database
and .env are left alone) is seeded, trained and served by ``runserver``; Debian's Chromium,
driven by Playwright, takes the pictures: the home page of a demo shopper with history
("Recommended for you"), a product page, and the staff analytics overview and product page.

    .venv/bin/python scripts/screenshots.py      (needs /usr/bin/chromium: apt-get install chromium)
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOPPER, STAFF, PASSWORD = "shopper00001", "admin", "screenshots-" + secrets.token_hex(8)

ACCOUNTS = f"""
from django.contrib.auth import get_user_model
User = get_user_model()
shopper = User.objects.get(username={SHOPPER!r})
shopper.set_password({PASSWORD!r})
shopper.save()
User.objects.create_superuser({STAFF!r}, "admin@example.com", {PASSWORD!r})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_in(page: Page, base: str, username: str, path: str = "/accounts/login/") -> None:
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state("networkidle")


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit("Needs Debian's Chromium: apt-get install chromium chromium-driver")
    with tempfile.TemporaryDirectory(prefix="moodshop-screenshots-") as tmp:
        env = {
            **os.environ,
            "ENV_FILE": "",
            "DEBUG": "true",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "MEDIA_ROOT": f"{tmp}/media",
            "RECOMMENDER_MODEL_DIR": f"{tmp}/models",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
        }

        def manage(*args: str) -> None:
            print("manage.py", args[0], flush=True)
            subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
            )

        manage("migrate", "--noinput")
        manage("seed_demo")
        manage("seed_reactions", "--events", "20000")
        manage("train_recommender")
        manage("shell", "-c", ACCOUNTS)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base, timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit("the demo server did not start")
                    time.sleep(0.3)
            shoot(base)
        finally:
            server.terminate()
            server.wait(timeout=20)


def shoot(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1300})
        log_in(page, base, SHOPPER)
        page.goto(f"{base}/")
        page.wait_for_selector(".recommendations .recommendation-reason")
        page.wait_for_load_state("networkidle")
        save(page, "shop-home.png")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(base + page.get_attribute(".recommendations a[href*='/products/']", "href"))
        page.wait_for_load_state("networkidle")
        save(page, "shop-product.png")

        staff = browser.new_page(viewport={"width": 1280, "height": 1400})
        log_in(staff, base, STAFF, "/admin/login/")
        staff.goto(f"{base}/admin/insights/productreaction/")
        staff.wait_for_load_state("networkidle")
        save(staff, "analytics-overview.png")
        links = staff.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        product = next(h for h in links if re.fullmatch(r"/admin/insights/productreaction/\d+/", urlsplit(h).path))
        staff.goto(base + product)
        staff.wait_for_load_state("networkidle")
        save(staff, "analytics-product.png")
        browser.close()


def save(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / name))
    print("wrote", (DOCS / name).relative_to(ROOT), "from", page.url, flush=True)


if __name__ == "__main__":
    main()
