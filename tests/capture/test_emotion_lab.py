"""The emotion lab: permission, the frames API's validation, a real face classified, nothing kept."""

import base64
import io
import logging

import numpy as np
import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image
from skimage import data

from emotion.ml.labels import CLASSES
from tests.capture.conftest import encode

pytestmark = pytest.mark.django_db

URL = "admin:emotion_emotionlab_changelist"


@pytest.fixture(scope="module")
def astronaut_png() -> bytes:
    """scikit-image's public-domain astronaut, full size (512×512), as a PNG."""
    return encode(data.astronaut(), "PNG")


@pytest.fixture
def lab_user(django_user_model):
    user = django_user_model.objects.create_user("modeller", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="emotion", codename="use_emotion_lab"))
    return user


@pytest.fixture
def lab(lab_user) -> Client:
    client = Client()
    client.force_login(lab_user)
    return client


def upload(client: Client, content: bytes, name: str = "face.png"):
    return client.post(reverse(URL), {"image": _named(content, name)})


def _named(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream


def test_staff_without_the_permission_are_refused_before_the_upload_is_read(client, django_user_model, astronaut_png):
    staff = django_user_model.objects.create_user("analyst", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(URL)).status_code == 403
    assert upload(client, astronaut_png).status_code == 403
    assert reverse(URL).encode() not in client.get(reverse("admin:index")).content


def test_the_page_says_what_it_is_for_and_the_index_links_it(lab):
    assert reverse(URL).encode() in lab.get(reverse("admin:index")).content
    page = lab.get(reverse(URL))
    html = page.content.decode()
    assert page.status_code == 200
    assert "right to use" in html and "Article 5(1)(f)" in html and "no webcam capture" in html
    assert "getUserMedia" not in html and "<video" not in html


def test_a_real_face_is_found_and_classified(lab, astronaut_png):
    page = upload(lab, astronaut_png)
    assert page.status_code == 200
    result = page.context["result"]
    assert len(result.faces) == 1
    face = result.faces[0]
    # the astronaut's face: upper middle of the 512×512 photo
    assert 150 < face.x + face.width / 2 < 260 and 60 < face.y + face.height / 2 < 170
    assert [bar.emotion for bar in face.bars] == list(CLASSES)
    assert sum(bar.probability for bar in face.bars) == pytest.approx(1.0, abs=1e-3)
    assert face.label == max(face.bars, key=lambda b: b.probability).emotion
    assert (result.width, result.height) == (512, 512) and result.milliseconds > 0
    html = page.content.decode()
    assert result.model_version in html and "blazeface" in html and "sha256-" in html
    assert html.count('class="em-bar"') == 7 and 'class="em-box"' in html
    # shown back from this response only, as a data: URI (the CSP allows img-src data:)
    assert f'href="data:image/png;base64,{base64.b64encode(astronaut_png).decode()}"' in html


def test_an_image_without_a_face_says_so(lab):
    page = upload(lab, encode(np.full((200, 300, 3), 180, np.uint8)))
    assert page.status_code == 200 and page.context["result"].faces == ()
    assert 'id="em-no-face"' in page.content.decode()


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "is empty"),
        (b"GIF89a" + b"\0" * 100, 400, "must be a JPEG, PNG or WebP"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, 400, "could not be decoded"),
        (None, 400, "could not be decoded"),  # a truncated PNG
        ("huge", 400, "it must be at most 4096×4096"),  # from the header only
        ("big", 413, "over the limit"),
    ],
)
def test_bad_uploads_are_a_clear_error(lab, astronaut_png, settings, content, status, message):
    if content is None:
        content = astronaut_png[: len(astronaut_png) // 2]
    elif content == "huge":
        content = encode(np.zeros((8, 5000), np.uint8), "PNG")
    elif content == "big":
        settings.EMOTION_LAB_MAX_BYTES = 10_000
        content = astronaut_png
    page = upload(lab, content)
    assert page.status_code == status
    assert message in page.context["error"] and 'id="em-error"' in page.content.decode()
    assert page.context["result"] is None


def test_a_post_without_a_file_is_a_clear_error(lab):
    page = lab.post(reverse(URL), {"other": "x"})
    assert page.status_code == 400 and "Choose an image" in page.context["error"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'--xx\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc', "boundary=xx"),
        (b"garbage", ""),
    ],
)
def test_a_malformed_form_is_a_bad_request(lab, body, content_type):
    response = lab.generic("POST", reverse(URL), body, content_type=f"multipart/form-data; {content_type}".strip("; "))
    assert response.status_code == 400


def test_the_upload_is_checked_for_csrf(lab_user, astronaut_png):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lab_user)
    assert upload(client, astronaut_png).status_code == 403
    token = client.get(reverse(URL)).context["csrf_token"]
    page = client.post(reverse(URL), {"csrfmiddlewaretoken": str(token), "image": _named(astronaut_png, "a.png")})
    assert page.status_code == 200 and len(page.context["result"].faces) == 1


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.label != "sessions.Session"
    }


def _files(root) -> set:
    return {p for p in root.rglob("*")} if root.exists() else set()


def test_the_image_is_never_stored_spilled_to_disk_or_logged(
    lab, astronaut_png, settings, tmp_path, monkeypatch, caplog
):
    media, spill = tmp_path / "media", tmp_path / "uploads"
    (media / "tmp").mkdir(parents=True)
    spill.mkdir()
    settings.MEDIA_ROOT, settings.FILE_UPLOAD_TEMP_DIR = media, spill
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # Django's defaults would write this upload to a temporary file
    temporary = []
    original = TemporaryUploadedFile.__init__
    monkeypatch.setattr(
        TemporaryUploadedFile, "__init__", lambda self, *a, **k: temporary.append(a) or original(self, *a, **k)
    )
    lab.get(reverse(URL))  # the lab's own first load (model, detector) before counting
    rows, files = _row_counts(), _files(media) | _files(spill)

    with caplog.at_level(logging.DEBUG):
        page = upload(lab, astronaut_png, name="private-holiday-photo.png")
        upload(lab, astronaut_png[:5000], name="private-holiday-photo.png")  # an error path too

    assert page.status_code == 200 and len(page.context["result"].faces) == 1
    assert temporary == [] and _files(media) | _files(spill) == files
    assert _row_counts() == rows
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "private-holiday-photo" not in logged
    assert base64.b64encode(astronaut_png[:48]).decode()[:60] not in logged
    assert [r for r in caplog.records if r.name.startswith("emotion")] == []


def test_exif_rotation_gives_the_displayed_size(lab):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: a 300×200 file shows as 200×300
    Image.fromarray(np.full((200, 300, 3), 120, np.uint8)).save(buffer, "JPEG", exif=exif)
    page = upload(lab, buffer.getvalue(), name="rotated.jpg")
    assert page.status_code == 200 and (page.context["result"].width, page.context["result"].height) == (200, 300)
