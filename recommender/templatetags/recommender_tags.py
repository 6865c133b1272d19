"""Storefront panels: ``{% recommended_for_you %}`` and ``{% you_may_also_like product %}``.

Shop templates load these tags, so the shop app itself never imports the recommender.
"""

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from shop.models import Product

from ..views import panel_items

register = template.Library()


def _panel(context: template.Context, title: str, product: Product | None, limit: int) -> dict[str, Any]:
    query = {"limit": limit} | ({"product": product.pk} if product is not None else {})
    shown = panel_items(context["request"], product, limit)
    return {
        "title": title,
        "cards": shown.cards(),
        "refresh_url": f"{reverse('recommender:panel')}?{urlencode(query)}",
    }


@register.inclusion_tag("recommender/_panel.html", takes_context=True)
def recommended_for_you(context: template.Context, limit: int = 8) -> dict[str, Any]:
    return _panel(context, "Recommended for you", None, limit)


@register.inclusion_tag("recommender/_panel.html", takes_context=True)
def you_may_also_like(context: template.Context, product: Product, limit: int = 4) -> dict[str, Any]:
    return _panel(context, "You may also like", product, limit)
