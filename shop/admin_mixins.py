"""Admin building blocks shared by every app's admin."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """A record the system writes and staff only read: an audit trail, a log, a notification, a
    stock movement. Nobody adds or edits one in the admin (the view permission shows it); with
    ``read_only_deletable = True`` staff holding the model's delete permission may remove rows
    (old logs), otherwise nobody may.

    Put it first, before ``admin.ModelAdmin`` or an inline class::

        class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin): ...
    """

    read_only_deletable = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.read_only_deletable and super().has_delete_permission(request, obj)
