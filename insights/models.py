"""No tables of its own: the staff reports read the shop's and the emotion app's data."""

from shop.models import Product


class ProductReaction(Product):
    """Shop products as the admin's "Product reactions" section: per-product reaction analytics.

    A proxy: no table of its own, it gives the analytics pages an admin entry and a view permission
    (``insights.view_productreaction``).
    """

    class Meta:
        proxy = True
        verbose_name = "product reactions"
        verbose_name_plural = "product reactions"
