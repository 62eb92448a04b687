"""Cache bookkeeping: a change to a store's look, menu, home blocks, or to what the menu and the
delivery line show (categories, product groups, shipping methods) forgets the cached ``Brand``
and bumps the catalog version, so no cached page keeps the old header, home or delivery price."""

from __future__ import annotations

from django.db import transaction

from catalog.pagecache import bump

from .selectors import forget


def _store_id(instance) -> int | None:
    from shop.models import Store

    from .models import StoreBranding

    if isinstance(instance, Store):
        return instance.pk
    if isinstance(instance, StoreBranding):
        return instance.store_id
    return getattr(instance, "store_id", None)


def invalidate(store_id: int | None) -> None:
    if store_id is None:
        return
    forget(store_id)
    transaction.on_commit(lambda: forget(store_id))
    bump(store_id)


def _on_change(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    invalidate(_store_id(instance))


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from catalog.models import Category, ProductGroup
    from orders.models import ShippingMethod
    from shop.models import Store

    from .models import HomeBlock, MenuItem, StoreBranding

    for model in (StoreBranding, MenuItem, HomeBlock, Category, ProductGroup, ShippingMethod, Store):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"branding.save.{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"branding.delete.{model.__name__}")
