"""The storefront panels' refresh endpoint: the same HTML the template tags render, re-ranked now.

The panels poll it while the page is visible, so "Recommended for you" and "You may also like"
reorder as the shopper's reactions come in.
"""

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shop.models import Product
from shop.services import current_shopper

from . import experiments, services
from .models import Panel

PANEL_MAX = 12


class PanelForm(forms.Form):
    product = forms.IntegerField(required=False, min_value=1)
    limit = forms.IntegerField(min_value=1, max_value=PANEL_MAX)


def panel_items(request: HttpRequest, product: Product | None, limit: int) -> experiments.Shown:
    """What a panel shows, logged as an impression: similar products on a product page, the
    shopper's list elsewhere (for a new visitor, complementing "Popular right now")."""
    panel = Panel.HOME if product is None else Panel.PRODUCT
    return experiments.show(panel, current_shopper(request), product, limit)


@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    form = PanelForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("invalid panel parameters")
    product = None
    if form.cleaned_data["product"]:
        product = services.available_product(form.cleaned_data["product"])
        if product is None:
            return HttpResponseNotFound("unknown product")
    shown = panel_items(request, product, form.cleaned_data["limit"])
    return render(request, "recommender/_cards.html", {"cards": shown.cards()})
