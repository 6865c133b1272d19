"""Shop operations as plain functions, so views, the API and commands share one code path."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.query import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .cart import Cart
from .models import Interaction, Order, OrderItem, Product

SHOPPER_SESSION_KEY = "shopper_id"
MAX_DWELL_SECONDS = 4 * 60 * 60


@dataclass(frozen=True)
class Shopper:
    """Who is shopping: the account if logged in, and always the session's anonymous id."""

    shopper_id: uuid.UUID
    user: AbstractBaseUser | None

    def rows(self) -> Q:
        """Filter for this shopper's rows (interactions, orders, consent, emotion data)."""
        return owned_rows(self.shopper_id, self.user.pk if self.user is not None else None)


def owned_rows(shopper_id: uuid.UUID | None, user_id: int | None) -> Q:
    """The one rule for whose data a row is: the session's shopper id's, or the account's when logged in.

    A row matches when either id matches, so a shopper who logs in keeps what they did
    anonymously in this session, and an account's rows follow it to any session.
    With neither id nothing matches.
    """
    conditions = [Q(shopper_id=shopper_id)] if shopper_id is not None else []
    if user_id is not None:
        conditions.append(Q(user_id=user_id))
    return reduce(or_, conditions) if conditions else Q(pk__in=[])


def shopper_id_for(session: SessionBase) -> uuid.UUID:
    """Return the session's anonymous shopper id, creating one (or replacing a tampered one)."""
    raw = session.get(SHOPPER_SESSION_KEY)
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        new = uuid.uuid4()
        session[SHOPPER_SESSION_KEY] = str(new)
        return new


def current_shopper(request: HttpRequest) -> Shopper:
    user = request.user if request.user.is_authenticated else None
    return Shopper(shopper_id=shopper_id_for(request.session), user=user)


def record_view(shopper: Shopper, product: Product) -> Interaction:
    """Log a product view; the page later reports its dwell time against ``view_id``."""
    return Interaction.objects.create(
        kind=Interaction.Kind.VIEW,
        product=product,
        user=shopper.user,
        shopper_id=shopper.shopper_id,
        view_id=uuid.uuid4(),
    )


class DwellError(ValueError):
    """The dwell report does not belong to this shopper or is out of range."""


def record_dwell(shopper: Shopper, view_id: uuid.UUID, seconds: float) -> Interaction:
    """Store the dwell time of a view owned by ``shopper``.

    Pages may report more than once (visibility changes, then unload), so the longest
    report wins and a late, shorter one never shrinks it.
    """
    if not 0 <= seconds <= MAX_DWELL_SECONDS:
        raise DwellError(f"dwell must be between 0 and {MAX_DWELL_SECONDS} seconds")
    with transaction.atomic():
        view = (
            Interaction.objects.select_for_update()
            .filter(shopper.rows(), view_id=view_id, kind=Interaction.Kind.VIEW)
            .first()
        )
        if view is None:
            raise DwellError("unknown view")
        if view.dwell_seconds is None or seconds > view.dwell_seconds:
            view.dwell_seconds = round(seconds, 3)
            view.save(update_fields=["dwell_seconds"])
    return view


def add_to_cart(shopper: Shopper, cart: Cart, product: Product, quantity: int) -> int:
    """Add to the cart and log the add-to-cart; returns the line's new quantity."""
    new_quantity = cart.add(product, quantity)
    if new_quantity:
        Interaction.objects.create(
            kind=Interaction.Kind.CART,
            product=product,
            user=shopper.user,
            shopper_id=shopper.shopper_id,
            quantity=quantity,
        )
    return new_quantity


class CheckoutError(Exception):
    """The order cannot be placed as the cart stands (empty, or stock ran out)."""


def place_order(shopper: Shopper, cart: Cart, *, full_name: str, email: str, address: str) -> Order:
    """Turn the cart into an order atomically: stock is decremented or nothing happens."""
    lines = cart.lines()
    if not lines:
        raise CheckoutError("Your cart is empty.")
    with transaction.atomic():
        for line in lines:
            updated = Product.objects.filter(pk=line.product.pk, is_active=True, stock__gte=line.quantity).update(
                stock=F("stock") - line.quantity
            )
            if not updated:
                raise CheckoutError(f"Sorry, “{line.product.name}” no longer has enough stock.")
        order = Order.objects.create(
            user=shopper.user,
            shopper_id=shopper.shopper_id,
            full_name=full_name,
            email=email,
            address=address,
            total=sum((line.total for line in lines), Decimal("0.00")),
        )
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=line.product, quantity=line.quantity, unit_price=line.product.price)
            for line in lines
        )
        Interaction.objects.bulk_create(
            Interaction(
                kind=Interaction.Kind.PURCHASE,
                product=line.product,
                user=shopper.user,
                shopper_id=shopper.shopper_id,
                quantity=line.quantity,
            )
            for line in lines
        )
    cart.clear()
    return order


def attach_anonymous_history(user: AbstractBaseUser, shopper_id: uuid.UUID) -> int:
    """On login, give the account the interactions and orders made anonymously in this session."""
    Order.objects.filter(shopper_id=shopper_id, user=None).update(user=user)
    return Interaction.objects.filter(shopper_id=shopper_id, user=None).update(user=user)


POPULARITY_WEIGHTS = {
    Interaction.Kind.VIEW: 1.0,
    Interaction.Kind.CART: 3.0,
    Interaction.Kind.PURCHASE: 5.0,
}


def refresh_popularity() -> int:
    """Recompute every product's popularity from the recent interaction window.

    Each shopper counts once per product and kind in the window (weighted by kind), so
    one shopper reloading a page, or a script fetching it, cannot make it popular. A view
    counts only once its page reported its dwell time: that report is sent by the page's
    own script, which a cookie-less scraper (a new shopper per request) never runs.
    One aggregate query plus one bulk update, so it stays cheap for large catalogs.
    Returns how many products have a non-zero score.
    """
    since = timezone.now() - timezone.timedelta(days=settings.SHOP_POPULARITY_WINDOW_DAYS)
    counted = (
        Interaction.objects.filter(created_at__gte=since, kind__in=list(POPULARITY_WEIGHTS))
        .exclude(kind=Interaction.Kind.VIEW, dwell_seconds__isnull=True)
        .values("product_id", "kind")
        .annotate(shoppers=Count("shopper_id", distinct=True))
        .values_list("product_id", "kind", "shoppers")
    )
    scores: dict[int, float] = {}
    for product_id, kind, shoppers in counted:
        scores[product_id] = scores.get(product_id, 0.0) + POPULARITY_WEIGHTS[kind] * shoppers
    products = list(Product.objects.only("pk", "popularity"))
    for product in products:
        product.popularity = scores.get(product.pk, 0.0)
    Product.objects.bulk_update(products, ["popularity"], batch_size=1000)
    return sum(1 for score in scores.values() if score > 0)


def search_products(query: str = "", category_slug: str | None = None) -> "QuerySet[Product]":
    """The storefront's catalog query: active products, optional category and text search."""
    products = Product.objects.available().select_related("category")
    if category_slug:
        products = products.filter(category__slug=category_slug)
    query = query.strip()
    if query:
        for term in query.split()[:8]:
            products = products.filter(
                Q(name__icontains=term) | Q(description__icontains=term) | Q(category__name__icontains=term)
            )
    return products


# "Popular right now" on the home page; the recommender's panel for new visitors skips these.
POPULAR_PANEL_SIZE = 8


def popular_products(limit: int = POPULAR_PANEL_SIZE) -> "QuerySet[Product]":
    return Product.objects.available().select_related("category").order_by("-popularity", "name")[:limit]
