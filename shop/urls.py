from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="products"),
    path("category/<slug:category_slug>/", views.product_list, name="category"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("views/<uuid:view_id>/dwell/", views.report_dwell, name="dwell"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart-add"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart-update"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_history, name="orders"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
]
