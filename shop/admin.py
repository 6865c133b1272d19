from django.contrib import admin
from django.utils.html import format_html

from .models import Category, Interaction, Order, OrderItem, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "name", "category", "price", "stock", "is_active", "popularity")
    list_display_links = ("thumbnail", "name")
    list_filter = ("is_active", "category")
    list_editable = ("price", "stock", "is_active")
    search_fields = ("name", "description", "slug")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("category",)
    readonly_fields = ("popularity", "created_at")

    class Media:
        css = {"all": ["css/shop_admin.css"]}  # in a file: the CSP allows no inline style

    @admin.display(description="")
    def thumbnail(self, product: Product) -> str:
        if not product.image:
            return "—"
        return format_html('<img src="{}" alt="" class="product-thumb" height="40">', product.image.url)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ("product",)
    readonly_fields = ("unit_price",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "full_name", "email", "user", "status", "total", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("full_name", "email", "user__username")
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]
    readonly_fields = ("shopper_id", "total", "created_at")
    raw_id_fields = ("user",)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """The log is evidence for the recommender: staff may read and filter it, not edit it."""

    list_display = ("created_at", "kind", "product", "user", "shopper_id", "dwell_seconds", "quantity")
    list_filter = ("kind", "created_at")
    search_fields = ("product__name", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("product", "user")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
