"""Staff roles: permission groups a merchant assigns to employees (Admin -> Groups).

Each role is a list of ``app_label.codename`` patterns (``*`` = any model of the app, ``view`` /
``change`` / ... = that action). Groups are created on ``migrate`` when missing; once created, a
merchant's edits to a group are never overwritten.
"""

from __future__ import annotations

from fnmatch import fnmatch

from django.apps import apps
from django.contrib.auth.models import Group, Permission

ROLES: dict[str, list[str]] = {
    # Runs the shop: everything but superuser-only settings.
    "Właściciel sklepu (owner)": [
        "catalog.*",
        "orders.*",
        "recovery.*",
        "integrations.*",
        "integrations_*.*",
        "reports.*",
        "django_celery_beat.*",
        "shop.view_store",
        "shop.change_store",
        "shop.view_event",
    ],
    # Processes orders and returns; reads the catalog.
    "Obsługa zamówień (orders)": [
        "orders.view_*",
        "orders.change_order",
        "orders.add_ordernote",
        "orders.change_ordernote",
        "orders.change_return",
        "orders.add_invoice",
        "orders.change_returnline",
        "orders.manage_shipments",
        "catalog.view_*",
        "reports.view_*",
    ],
    # Keeps stock right.
    "Magazyn (warehouse)": [
        "catalog.view_*",
        "catalog.*_stockitem",
        "catalog.*_warehouse",
        "catalog.view_stockmovement",
        "catalog.add_stockmovement",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_shipment",
        "orders.manage_shipments",
    ],
    # Edits products, categories and groups; no stock, no orders.
    "Katalog (content)": [
        "catalog.*_product",
        "catalog.*_variant",
        "catalog.*_productimage",
        "catalog.*_category",
        "catalog.*_productgroup",
        "catalog.*_attribute",
        "catalog.*_attributevalue",
        "catalog.*_setcomponent",
        "catalog.*_digitalasset",
        "catalog.*_manufacturer",
        "catalog.*_responsibleperson",
        "catalog.*_redirect",
        "catalog.view_*",
    ],
    # Campaigns, vouchers, recovery statistics.
    "Marketing": [
        "recovery.*",
        "orders.*_voucher",
        "orders.view_giftcard",
        "catalog.view_*",
        "catalog.*_productgroup",
        "reports.view_*",
    ],
}


def permissions_for(patterns: list[str]) -> list[Permission]:
    perms = Permission.objects.select_related("content_type")
    chosen = []
    for perm in perms:
        name = f"{perm.content_type.app_label}.{perm.codename}"
        if any(fnmatch(name, p) for p in patterns):
            chosen.append(perm)
    return chosen


def install_roles(**kwargs) -> None:
    # Run once, after the last app migrated: only then do every app's permissions exist.
    # (post_migrate is only sent for apps that have a models module.)
    last = [c for c in apps.get_app_configs() if c.models_module is not None][-1]
    if kwargs.get("app_config") is not last:
        return
    for name, patterns in ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.set(permissions_for(patterns))
