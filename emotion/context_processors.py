"""Capture settings the consent dialog states in plain words, and where the faces are analysed."""

from django.conf import settings
from django.http import HttpRequest


def capture(request: HttpRequest) -> dict[str, object]:
    fps = settings.EMOTION_CAPTURE_FPS
    return {
        "capture_fps": int(fps) if float(fps).is_integer() else fps,
        "camera_reoffer_days": settings.EMOTION_REOFFER_DAYS,
        "emotion_inference": settings.EMOTION_INFERENCE,
    }
