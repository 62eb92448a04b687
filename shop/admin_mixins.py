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


# --- Staff belong to stores ---------------------------------------------------------------------

_STORE_IDS_ATTR = "_koszyk_store_ids"


def user_store_ids(user) -> frozenset[int] | None:
    """The ids of the stores ``user`` works on, or ``None`` for every store (superusers and
    staff with ``all_stores``). Cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser or getattr(user, "all_stores", False):
        return None
    cached = getattr(user, _STORE_IDS_ATTR, None)
    if cached is None:
        cached = frozenset(user.staff_stores.values_list("pk", flat=True))
        setattr(user, _STORE_IDS_ATTR, cached)
    return cached


def store_path_for(model, max_depth: int = 3) -> str | None:
    """The lookup from ``model`` to its store ("store", "order__store", "pk" for Store itself),
    following forward foreign keys breadth first; ``None`` when the model belongs to no store."""
    from shop.models import Store

    if model is Store:
        return "pk"
    queue: list[tuple[type, str, int]] = [(model, "", 0)]
    seen = {model}
    while queue:
        current, prefix, depth = queue.pop(0)
        fields = [
            f
            for f in current._meta.get_fields()
            if f.concrete and (f.many_to_one or f.one_to_one) and f.related_model is not None
        ]
        for field in fields:
            if field.related_model is Store:
                return f"{prefix}{field.name}"
        if depth + 1 >= max_depth:
            continue
        for field in fields:
            related = field.related_model
            if related not in seen and related._meta.app_label != "auth":
                seen.add(related)
                queue.append((related, f"{prefix}{field.name}__", depth + 1))
    return None


def scope_to_stores(queryset, user, path: str | None = None):
    """``queryset`` narrowed to the stores ``user`` works on (``path`` found when not given)."""
    path = path or store_path_for(queryset.model)
    if path is None:
        return queryset
    ids = user_store_ids(user)
    if ids is None:
        return queryset
    if not ids:
        return queryset.none()
    lookup = "pk__in" if path == "pk" else f"{path}__in"
    return queryset.filter(**{lookup: ids})


def store_of(obj, path: str):
    """The store id ``obj`` belongs to along ``path`` (``None`` when the chain is empty)."""
    if path == "pk":
        return obj.pk
    parts = path.split("__")
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return getattr(obj, f"{parts[-1]}_id", None)


def _scoped_related_filter():
    from django.contrib.admin import RelatedFieldListFilter

    class StoreScopedRelatedFieldListFilter(RelatedFieldListFilter):
        """A list filter on a relation offering only the user's stores' rows."""

        def field_choices(self, field, request, model_admin):
            choices = super().field_choices(field, request, model_admin)
            if user_store_ids(request.user) is None:
                return choices
            allowed = scope_to_stores(field.related_model._default_manager.all(), request.user)
            keep = set(allowed.values_list("pk", flat=True))
            return [(pk, label) for pk, label in choices if pk in keep]

    return StoreScopedRelatedFieldListFilter


class StoreScopedInlineMixin:
    """An inline on a store-scoped admin: its foreign-key and many-to-many choices (selects,
    autocompletes, raw ids) are the user's stores' rows only."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_to_stores(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_to_stores(field.queryset, request.user)
        return field


_SCOPED_INLINE_CLASSES: dict[type, type] = {}


def _scoped_inline_class(cls: type) -> type:
    if cls not in _SCOPED_INLINE_CLASSES:
        _SCOPED_INLINE_CLASSES[cls] = type(
            cls.__name__,
            (StoreScopedInlineMixin, cls),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
    return _SCOPED_INLINE_CLASSES[cls]


class StoreScopedAdminMixin:
    """A ModelAdmin whose rows belong to a store: staff see, search, autocomplete, filter, pick,
    change and delete only their stores' rows (``user_store_ids``); another store's row answers
    404 like a missing one. ``store_path`` is the lookup to the store ("store",
    "order__store"; "pk" on Store itself).

    The admin site applies it to every registered ModelAdmin whose model has a path to a store
    (``scope_registered_admins``), so a new admin cannot forget it; declare it yourself (first
    base) to set ``store_path`` explicitly.
    """

    store_path: str | None = None

    def get_store_path(self) -> str | None:
        if self.store_path is None:
            self.store_path = store_path_for(self.model)
        return self.store_path

    def get_queryset(self, request):
        return scope_to_stores(super().get_queryset(request), request.user, self.get_store_path())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_to_stores(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_to_stores(field.queryset, request.user)
        return field

    def get_inline_instances(self, request, obj=None):
        instances = super().get_inline_instances(request, obj)
        for inline in instances:
            if not isinstance(inline, StoreScopedInlineMixin):
                inline.__class__ = _scoped_inline_class(type(inline))
        return instances

    def get_list_filter(self, request):
        from django.contrib.admin.utils import get_fields_from_path

        scoped = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str):
                try:
                    last = get_fields_from_path(self.model, entry)[-1]
                except Exception:  # not a field path (a method or a typo the checks report)
                    last = None
                if last is not None and last.is_relation and store_path_for(last.related_model):
                    entry = (entry, _scoped_related_filter())
            scoped.append(entry)
        return scoped

    def _may_use(self, request, obj) -> bool:
        ids = user_store_ids(request.user)
        if ids is None:
            return True
        path = self.get_store_path()
        return path is not None and store_of(obj, path) in ids

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import PermissionDenied

        if not self._may_use(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        from django.core.exceptions import PermissionDenied

        if not self._may_use(request, obj):
            raise PermissionDenied
        super().delete_model(request, obj)


def scope_registered_admins(site=None) -> None:
    """Give every registered ModelAdmin whose model belongs to a store the store scoping (its
    class becomes a subclass with ``StoreScopedAdminMixin`` first); called once the admin modules
    are loaded (shop.apps)."""
    from django.contrib import admin

    site = site or admin.site
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, StoreScopedAdminMixin):
            continue
        path = store_path_for(model)
        if path is None:
            continue
        cls = type(model_admin)
        scoped = type(
            cls.__name__,
            (StoreScopedAdminMixin, cls),
            {"store_path": path, "__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
        # The instance keeps its state (apps add inlines to another app's admin instance) and
        # every reference to it: only its class gains the scoping.
        model_admin.__class__ = scoped
