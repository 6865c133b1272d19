"""Admin entries that are reports, not editable lists: one home for "nobody adds, edits or deletes here"."""

from django.contrib import admin
from django.http import HttpRequest


class ReportAdmin(admin.ModelAdmin):
    """A report page in the admin: viewing follows the model's view permission, nothing is writable."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
