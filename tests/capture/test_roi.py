"""The region of interest (emotion.roi): the geometry, the frames API's part, and the worker's."""

import base64
import io
import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.db import OperationalError
from django.utils import timezone
from PIL import Image

from emotion import roi, sealing, services, tasks
from emotion.models import EmotionObservation, Outcome
from emotion.roi import SEARCH_REGION, Region
from shop.models import Interaction
from shop.services import Shopper, record_view
from tests.e2e.fake_camera import write_far_face_video


def test_a_region_parses_only_inside_the_picture():
    assert Region.parse("0.25,0.25,0.5,0.5") == SEARCH_REGION
    for bad in ("", "1,2,3", "0.5,0.5,0.6,0.1", "-0.1,0,0.5,0.5", "0,0,0,0.5", "a,b,c,d", "nan,0,0.5,0.5"):
        with pytest.raises(ValueError):
            Region.parse(bad)


def test_a_face_found_in_a_region_is_placed_on_the_whole_picture():
    face = roi.face_in_picture((100, 50, 40, 40), 200, 200, Region(0.5, 0.25, 0.25, 0.5))
    assert face == Region(0.5 + 0.5 * 0.25, 0.25 + 0.25 * 0.5, 0.2 * 0.25, 0.2 * 0.5)
    assert roi.face_in_picture((32, 24, 64, 48), 320, 240, None) == Region(0.1, 0.1, 0.2, 0.2)


def test_the_next_region_follows_the_face_searches_the_centre_and_falls_back():
    small = Region(0.45, 0.4, 0.1, 0.1)
    around = roi.next_after(small, None)
    assert around == pytest.approx(Region(0.375, 0.325, 0.25, 0.25))  # 2.5 face sizes, same centre
    assert roi.next_after(Region(0.0, 0.0, 0.05, 0.05), None).x == 0  # kept inside the picture
    assert roi.next_after(Region(0.3, 0.2, 0.4, 0.5), None) is None  # a near face: the whole picture
    assert roi.next_after(None, None) == SEARCH_REGION  # none in the whole picture: look closer
    assert roi.next_after(None, SEARCH_REGION) is None  # none there either: the whole picture again


@pytest.mark.django_db
class TestFramesApi:
    @pytest.fixture
    def ready(self, shopper, product):
        view_id = shopper.open(product)
        assert shopper.consent().status_code == 201
        return shopper, product, view_id

    def post(self, shopper, product, view_id, jpeg, seq, roi_text=None):
        query = f"product={product.pk}&view={view_id}&seq={seq}&ts=0" + (f"&roi={roi_text}" if roi_text else "")
        return shopper.client.post(
            f"/api/v1/frames/?{query}", data=jpeg, content_type="image/jpeg", HTTP_X_CSRFTOKEN=shopper.csrf
        )

    def observe(self, view_id, seq, face, shown, outcome=Outcome.STORED, age=0.0):
        view = Interaction.objects.get(view_id=view_id)
        EmotionObservation.objects.create(
            view=view, sequence=seq, product_id=view.product_id, shopper_id=view.shopper_id,
            captured_at=timezone.now(), model_version="m", outcome=outcome,
            face_region=face.as_dict() if face else None, shown_region=shown.as_dict() if shown else None,
            created_at=timezone.now() - timedelta(seconds=age),
        )  # fmt: skip

    def test_a_bad_region_is_a_400_with_a_reason(self, ready, face_jpeg, enqueued):
        shopper, product, view_id = ready
        response = self.post(shopper, product, view_id, face_jpeg, 0, "0.9,0.9,0.5,0.5")
        assert response.status_code == 400 and "roi" in response.json()["fields"], response.content
        assert enqueued == []

    def test_the_region_shown_reaches_the_worker_and_the_answer_names_the_next(self, ready, face_jpeg, enqueued):
        shopper, product, view_id = ready
        self.observe(view_id, 0, None, None, Outcome.NO_FACE)  # nothing in the whole picture
        answer = self.post(shopper, product, view_id, face_jpeg, 1).json()
        assert Region(**answer["roi"]) == SEARCH_REGION
        face = Region(0.45, 0.4, 0.08, 0.1)
        self.observe(view_id, 1, face, SEARCH_REGION)
        answer = self.post(shopper, product, view_id, face_jpeg, 2, "0.25,0.25,0.5,0.5").json()
        assert Region(**answer["roi"]) == pytest.approx(roi.region_around(face))
        assert enqueued[-1][4] == SEARCH_REGION

    def test_a_database_cut_while_answering_refuses_before_queueing(self, ready, face_jpeg, enqueued, monkeypatch):
        """The region is read before the frame is queued: a 503 never stands for a queued frame."""
        shopper, product, view_id = ready

        def database_gone(view_pk):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(services, "next_capture_region", database_gone)
        response = self.post(shopper, product, view_id, face_jpeg, 0)
        assert response.status_code == 503 and response.json()["code"] == "database_unavailable"
        assert enqueued == []

    def test_several_faces_and_a_long_run_of_regions_bring_back_the_whole_picture(self, ready, face_jpeg, enqueued):
        """Nobody beside the shopper may escape the several-faces rule behind a region."""
        shopper, product, view_id = ready
        face = Region(0.45, 0.4, 0.08, 0.1)
        self.observe(view_id, 0, None, None, Outcome.SEVERAL_FACES)
        assert self.post(shopper, product, view_id, face_jpeg, 1).json()["roi"] is None
        for seq in range(1, roi.WHOLE_PICTURE_EVERY - 1):  # regions in a row, each finding the face
            self.observe(view_id, seq, face, roi.region_around(face))
        assert self.post(shopper, product, view_id, face_jpeg, 20).json()["roi"] is not None
        self.observe(view_id, roi.WHOLE_PICTURE_EVERY - 1, face, roi.region_around(face))
        assert self.post(shopper, product, view_id, face_jpeg, 21).json()["roi"] is None

    def test_stale_gaps_and_old_frames_name_no_region(self, ready, face_jpeg, enqueued, settings):
        shopper, product, view_id = ready
        self.observe(view_id, 0, Region(0.45, 0.4, 0.08, 0.1), None, age=roi.FACE_TTL_SECONDS + 1)
        self.observe(view_id, 1, None, None, Outcome.STALE)
        assert self.post(shopper, product, view_id, face_jpeg, 2).json()["roi"] is None
        self.observe(view_id, 2, Region(0.45, 0.4, 0.08, 0.1), None)
        assert self.post(shopper, product, view_id, face_jpeg, 3).json()["roi"] is not None
        settings.EMOTION_CAPTURE_ROI = False
        assert self.post(shopper, product, view_id, face_jpeg, 4).json()["roi"] is None


def camera_frame(tmp_path, region: Region | None) -> bytes:
    """A frame of a 1280x720 camera with the astronaut far away, as the page draws it (<= 320 wide)."""
    video = write_far_face_video(tmp_path / "far.y4m", face_px=120).read_bytes()
    start = video.index(b"FRAME\n") + 6
    picture = Image.fromarray(np.frombuffer(video[start : start + 1280 * 720], np.uint8).reshape(720, 1280))
    if region is None:
        frame = picture.resize((320, 180))
    else:
        crop = picture.crop(
            (region.x * 1280, region.y * 720, (region.x + region.w) * 1280, (region.y + region.h) * 720)
        )
        scale = min(1, 320 / crop.width, 320 / crop.height)
        frame = crop.resize((round(crop.width * scale), round(crop.height * scale)))
    buffer = io.BytesIO()
    frame.convert("RGB").save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.mark.django_db
def test_the_worker_finds_the_far_face_in_the_central_region_and_stores_where_it_was(tmp_path, product):
    shopper = Shopper(uuid.uuid4(), None)
    services.grant_consent(shopper)
    view = record_view(shopper, product)
    target = services.frame_view(shopper, view.view_id, product.pk)

    def classify(seq: int, shown: Region | None) -> EmotionObservation:
        sealed = sealing.seal_frame(target.key, camera_frame(tmp_path, shown), target.view_pk, seq)
        tasks.classify_frame.run(
            view_pk=view.pk, sequence=seq, captured_at=timezone.now().isoformat(), consent_pk=target.consent_pk,
            sealed_frame=base64.b64encode(sealed).decode(), region=shown.as_dict() if shown else None,
        )  # fmt: skip
        return EmotionObservation.objects.get(view=view, sequence=seq)

    whole = classify(0, None)
    assert whole.outcome == Outcome.NO_FACE  # 30 px wide in the whole picture: too small to detect
    assert services.next_capture_region(view.pk) == SEARCH_REGION
    centre = classify(1, SEARCH_REGION)
    assert centre.outcome == Outcome.STORED and centre.shown_region == SEARCH_REGION.as_dict()
    face = Region(**centre.face_region)
    assert abs(face.x + face.w / 2 - 0.5) < 0.02 and 0.07 < face.w < 0.13  # 120 of 1280 px, in the middle
    tracked = classify(2, services.next_capture_region(view.pk))
    assert tracked.outcome == Outcome.STORED and tracked.label == centre.label
