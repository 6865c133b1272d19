"""Storefront forms: every user input is bounded here, so views never see raw values."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .services import MAX_DWELL_SECONDS


def _quantity_field(min_value: int) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=min_value,
        max_value=settings.SHOP_MAX_CART_QUANTITY,
        widget=forms.NumberInput(attrs={"class": "form-control qty-input-lg"}),
    )


class AddToCartForm(forms.Form):
    quantity = _quantity_field(min_value=1)


class UpdateCartForm(forms.Form):
    """Zero removes the line."""

    quantity = _quantity_field(min_value=0)


class SearchForm(forms.Form):
    SORTS = {
        "popular": ("-popularity", "name"),
        "new": ("-created_at", "name"),
        "price": ("price", "name"),
        "-price": ("-price", "name"),
        "name": ("name",),
    }

    q = forms.CharField(required=False, max_length=100, strip=True)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("popular", "Most popular"),
            ("new", "Newest"),
            ("price", "Price: low to high"),
            ("-price", "Price: high to low"),
            ("name", "Name"),
        ],
    )

    def ordering(self) -> tuple[str, ...]:
        return self.SORTS[self.cleaned_data.get("sort") or "popular"]


class CheckoutForm(forms.Form):
    full_name = forms.CharField(max_length=200)
    email = forms.EmailField()
    address = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")


class DwellForm(forms.Form):
    """What the product page's script reports when a view ends."""

    seconds = forms.FloatField(min_value=0, max_value=MAX_DWELL_SECONDS)


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")
