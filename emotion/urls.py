from django.urls import path

from . import api, views

app_name = "emotion"

urlpatterns = [
    path("consent/", api.ConsentView.as_view(), name="consent"),
    path("emotion-data/", api.EmotionDataView.as_view(), name="emotion-data"),
    path("frames/", api.FrameView.as_view(), name="frames"),
    path("observations/", api.ObservationView.as_view(), name="observations"),
    path("on-device/models/<str:name>", views.on_device_model, name="on-device-model"),
    path("views/<uuid:view_id>/status/", api.ViewStatusView.as_view(), name="view-status"),
]
