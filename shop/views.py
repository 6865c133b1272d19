"""Storefront views: parse the request, call a service, render. No business logic here."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from . import services
from .cart import Cart
from .forms import AddToCartForm, CheckoutForm, DwellForm, SearchForm, SignUpForm, UpdateCartForm
from .models import Category, Order, Product


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "shop/home.html",
        {
            "popular": services.popular_products(),
            "new_arrivals": Product.objects.available().select_related("category").order_by("-created_at", "name")[:4],
        },
    )


def product_list(request: HttpRequest, category_slug: str | None = None) -> HttpResponse:
    category = get_object_or_404(Category, slug=category_slug) if category_slug else None
    form = SearchForm(request.GET)
    if form.is_valid():
        products = services.search_products(form.cleaned_data["q"], category_slug)
        products = products.order_by(*form.ordering())
    else:  # an over-long query or unknown sort: show the catalog with the form's errors
        products = services.search_products(category_slug=category_slug).order_by("name")
    page = Paginator(products, settings.SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "shop/product_list.html",
        {"category": category, "form": form, "page": page, "query": query.urlencode()},
    )


@ensure_csrf_cookie  # the page's scripts post with the cookie's token
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product.objects.available().select_related("category"), slug=slug)
    view = services.record_view(services.current_shopper(request), product)
    related = (
        Product.objects.available().filter(category=product.category).exclude(pk=product.pk).order_by("-popularity")[:4]
    )
    return render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "view_id": view.view_id,
            "form": AddToCartForm(initial={"quantity": 1}),
            "related": related,
        },
    )


@require_POST
def report_dwell(request: HttpRequest, view_id: uuid.UUID) -> JsonResponse:
    """Called by the product page (sendBeacon) when the view ends or the tab is hidden."""
    form = DwellForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "invalid dwell report", "fields": form.errors}, status=400)
    try:
        services.record_dwell(services.current_shopper(request), view_id, form.cleaned_data["seconds"])
    except services.DwellError as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    return JsonResponse({"status": "ok"})


def cart_detail(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/cart.html", {"cart": Cart(request.session)})


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.available(), pk=product_id)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "shop/product_detail.html",
            {"product": product, "form": form, "related": []},
            status=400,
        )
    cart = Cart(request.session)
    if not product.in_stock:
        messages.error(request, f"Sorry, {product.name} is out of stock.")
        return redirect(product)
    quantity = services.add_to_cart(services.current_shopper(request), cart, product, form.cleaned_data["quantity"])
    messages.success(request, f"{product.name} is in your cart (quantity {quantity}).")
    return redirect("shop:cart")


@require_POST
def cart_update(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id)
    form = UpdateCartForm(request.POST)
    cart = Cart(request.session)
    if not form.is_valid():
        invalid = {"product_id": product.pk, "form": form}
        return render(request, "shop/cart.html", {"cart": cart, "invalid": invalid}, status=400)
    cart.set(product, form.cleaned_data["quantity"])
    return redirect("shop:cart")


@require_POST
def cart_remove(request: HttpRequest, product_id: int) -> HttpResponse:
    Cart(request.session).remove(get_object_or_404(Product, pk=product_id))
    return redirect("shop:cart")


def checkout(request: HttpRequest) -> HttpResponse:
    cart = Cart(request.session)
    if not cart.lines():
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    initial = {}
    if request.user.is_authenticated:
        initial = {"full_name": request.user.get_full_name(), "email": request.user.email}
    form = CheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.place_order(services.current_shopper(request), cart, **form.cleaned_data)
        except services.CheckoutError as exc:
            messages.error(request, str(exc))
            return redirect("shop:cart")
        request.session["last_order_id"] = order.pk
        return redirect("shop:order", order_id=order.pk)
    return render(request, "shop/checkout.html", {"cart": cart, "form": form})


def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """Visible to its account, or to the anonymous session that placed it."""
    order = get_object_or_404(Order.objects.prefetch_related("items__product"), pk=order_id)
    owns = (request.user.is_authenticated and order.user_id == request.user.pk) or (
        order.user_id is None and request.session.get("last_order_id") == order.pk
    )
    if not owns:
        raise Http404("No such order.")
    return render(request, "shop/order_detail.html", {"order": order})


@login_required
def order_history(request: HttpRequest) -> HttpResponse:
    orders = request.user.orders.prefetch_related("items__product")
    return render(request, "shop/order_history.html", {"orders": orders})


def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}!")
        return redirect("shop:home")
    return render(request, "registration/signup.html", {"form": form})
