"""The emotion model's staff pages in Chromium: the report and the lab render under the site's CSP,
and the lab shows a real face's box and probability bars after an upload."""

import pytest
from django.urls import reverse
from skimage import data

from tests.capture.conftest import encode
from tests.e2e.conftest import shot
from tests.e2e.test_insights_reports import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_model_report_and_emotion_lab(new_page, console, live_server, django_user_model):
    page = new_page()
    login(page, live_server, django_user_model)

    page.click(f"a[href='{reverse('admin:emotion_modelreport_changelist')}']")  # linked from the admin index
    assert "Version" in page.inner_text("#em-version")
    assert page.locator("#em-curves svg polyline").count() >= 4
    assert page.locator("#em-confusion rect").count() == 49
    assert page.locator("#em-per-class tbody tr").count() == 7
    shot(page, "emotion-model-report")

    page.goto(f"{live_server.url}/admin/")
    page.click(f"a[href='{reverse('admin:emotion_emotionlab_changelist')}']")
    assert "Article 5(1)(f)" in page.inner_text("#em-purpose")
    page.set_input_files(
        "#em-image",
        files=[{"name": "astronaut.png", "mimeType": "image/png", "buffer": encode(data.astronaut(), "PNG")}],
    )
    page.click("input[type=submit][value=Analyse]")
    page.wait_for_selector("#em-face-1")
    assert page.locator("#em-photo .em-box").count() == 1
    assert page.locator("#em-face-1 .em-bar").count() == 7
    assert page.locator("#em-photo image").evaluate("i => i.getBBox().width") > 0  # the data: image drew
    shot(page, "emotion-lab")

    assert console.csp_violations == []
