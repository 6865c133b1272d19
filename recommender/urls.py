from django.urls import path

from . import api, views

app_name = "recommender"

urlpatterns = [
    path("recommendations/", api.MyRecommendationsView.as_view(), name="mine"),
    path("recommendations/panel/", views.panel, name="panel"),
    path("users/<str:user_id>/recommendations/", api.UserRecommendationsView.as_view(), name="user"),
    path("products/<str:product_id>/similar/", api.SimilarProductsView.as_view(), name="similar"),
]
