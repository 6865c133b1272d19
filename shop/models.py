"""Catalog, orders and the shopper interaction log the recommender learns from."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", args=[self.slug])


class ProductQuerySet(models.QuerySet["Product"]):
    def available(self) -> "ProductQuerySet":
        return self.filter(is_active=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))])
    image = models.ImageField(upload_to="products/", blank=True)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Refreshed by a beat task from recent interactions; orders "popular" listings cheaply.
    popularity = models.FloatField(default=0.0, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", args=[self.slug])

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    shopper_id = models.UUIDField(db_index=True, help_text="Anonymous shopper id of the session.")
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    address = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Interaction(models.Model):
    """One shopper action on a product: a view (with dwell time), an add-to-cart or a purchase.

    Anonymous shoppers are identified by a random id kept in their session (`shopper_id`),
    which survives login, so their history is attached to the account when they sign in.
    """

    class Kind(models.TextChoices):
        VIEW = "view", "View"
        CART = "cart", "Add to cart"
        PURCHASE = "purchase", "Purchase"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="interactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    shopper_id = models.UUIDField(db_index=True)
    # Views only: a public id the page reports dwell time (and later camera frames) against.
    view_id = models.UUIDField(null=True, blank=True, unique=True, default=None)
    dwell_seconds = models.FloatField(null=True, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "kind"]),
            models.Index(fields=["product", "kind", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.product_id} by {self.user_id or self.shopper_id}"
