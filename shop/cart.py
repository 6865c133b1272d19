"""Session-backed shopping cart.

The session stores only ``{product_id: quantity}``. Session contents are treated as
untrusted: anything malformed (tampered, stale, from an older release) is dropped rather
than allowed to raise, so a broken cart can never turn a page into a 500.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from .models import Product

SESSION_KEY = "cart"


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


def _clean(raw: object) -> dict[str, int]:
    """Keep only ``{"<positive int id>": 1..max}`` entries from whatever the session holds."""
    if not isinstance(raw, dict):
        return {}
    limit = settings.SHOP_MAX_CART_QUANTITY
    clean: dict[str, int] = {}
    for key, value in raw.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) > 0):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
            continue
        clean[key] = value
    return clean


class Cart:
    def __init__(self, session: SessionBase) -> None:
        self.session = session
        self._items = _clean(session.get(SESSION_KEY))
        self._lines: list[CartLine] | None = None

    def _save(self) -> None:
        self.session[SESSION_KEY] = self._items
        self._lines = None

    def quantity_of(self, product: Product) -> int:
        return self._items.get(str(product.pk), 0)

    def add(self, product: Product, quantity: int) -> int:
        """Add to the line, capped by stock and the per-line limit; returns the new quantity."""
        return self.set(product, self.quantity_of(product) + quantity)

    def set(self, product: Product, quantity: int) -> int:
        quantity = min(quantity, product.stock, settings.SHOP_MAX_CART_QUANTITY)
        if quantity <= 0:
            self._items.pop(str(product.pk), None)
            quantity = 0
        else:
            self._items[str(product.pk)] = quantity
        self._save()
        return quantity

    def remove(self, product: Product) -> None:
        self._items.pop(str(product.pk), None)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def lines(self) -> list[CartLine]:
        """Cart lines for products that still exist and are on sale, in a stable order."""
        if self._lines is None:
            products = Product.objects.available().select_related("category").in_bulk([int(pk) for pk in self._items])
            stale = [pk for pk in self._items if int(pk) not in products]
            if stale:  # deleted or withdrawn products leave the cart
                for pk in stale:
                    del self._items[pk]
                self._save()
            self._lines = sorted(
                (CartLine(products[int(pk)], qty) for pk, qty in self._items.items()),
                key=lambda line: line.product.name,
            )
        return self._lines

    def __iter__(self) -> Iterator[CartLine]:
        return iter(self.lines())

    def __len__(self) -> int:
        """Number of items (sum of quantities), as shown on the cart badge."""
        return sum(self._items.values())

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines()), Decimal("0.00"))
