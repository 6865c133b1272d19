from django.urls import path

from . import api

app_name = "emotion"

urlpatterns = [
    path("consent/", api.ConsentView.as_view(), name="consent"),
    path("emotion-data/", api.EmotionDataView.as_view(), name="emotion-data"),
    path("frames/", api.FrameView.as_view(), name="frames"),
    path("views/<uuid:view_id>/status/", api.ViewStatusView.as_view(), name="view-status"),
]
