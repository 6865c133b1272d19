from django.urls import path

from . import api

app_name = "insights"

urlpatterns = [
    path("products/<int:product_id>/reactions/", api.ProductReactionsView.as_view(), name="product-reactions"),
]
