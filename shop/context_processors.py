"""Template context every page needs: the cart badge and the category menu."""

from django.http import HttpRequest

from .cart import Cart
from .models import Category


def shop(request: HttpRequest) -> dict[str, object]:
    return {
        "cart_count": len(Cart(request.session)) if hasattr(request, "session") else 0,
        "nav_categories": Category.objects.only("name", "slug"),
    }
