"""Capture settings the consent dialog states in plain words, and where the faces are analysed."""

from django.conf import settings
from django.http import HttpRequest

from .roi import CAPTURE_WIDTH, ROI_CAMERA_WIDTH


def capture(request: HttpRequest) -> dict[str, object]:
    fps = settings.EMOTION_CAPTURE_FPS
    roi_on = settings.EMOTION_CAPTURE_ROI  # in both modes: the page analyses the region in browser mode
    return {
        "capture_fps": int(fps) if float(fps).is_integer() else fps,
        "camera_reoffer_days": settings.EMOTION_REOFFER_DAYS,
        "emotion_inference": settings.EMOTION_INFERENCE,
        # The region of interest (emotion.roi) needs a camera picture with pixels to spare.
        "camera_width": ROI_CAMERA_WIDTH if roi_on else CAPTURE_WIDTH,
    }
