"""Staff roles: permission groups a merchant assigns to employees (Admin -> Groups).

Each role is a list of ``app_label.codename`` patterns (``*`` = any model of the app, ``view`` /
``change`` / ... = that action). Groups are created on ``migrate`` when missing; once created, a
merchant's edits to a group are never overwritten.
"""

from __future__ import annotations

from fnmatch import fnmatch

from django.apps import apps
from django.contrib.auth.models import Group, Permission

#: The role that sees the admin's System section (besides superusers).
OPERATOR_ROLE = "Operator systemu (operator)"
_OPERATOR_ATTR = "_koszyk_is_operator"

ROLES: dict[str, list[str]] = {
    # Runs the shop: everything but superuser-only settings.
    "Właściciel sklepu (owner)": [
        "catalog.*",
        "orders.*",
        "recovery.*",
        "integrations.*",
        "integrations_*.*",
        "reports.*",
        "customers.*",
        "branding.*",
        "content.*",
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
        "customers.view_customer",
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
    # Looks after the machinery: schedules, the outbox, webhooks, integration runs; reads the
    # technical tables (the admin's System section, shop/admin_nav.py). No shop data to change.
    OPERATOR_ROLE: [
        "django_celery_beat.*",
        "shop.view_event",
        "shop.view_eventdelivery",
        "api.view_webhookdelivery",
        "api.view_webhooksubscription",
        "catalog.view_stockreservation",
        "integrations_marketing.view_consentlog",
        "orders.view_paymentnotification",
        "orders.view_shipmentevent",
        "orders.view_orderstatuschange",
        "orders.view_orderemail",
        "orders.view_ksefsubmission",
        "integrations.view_*",
        "integrations_*.view_*",
    ],
    # Campaigns, vouchers, recovery statistics.
    "Marketing": [
        "recovery.*",
        "orders.*_voucher",
        "orders.*_voucherbatch",
        "orders.*_orderemailtemplate",
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
    from .models import RoleAppGrant

    for name, patterns in ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        chosen = permissions_for(patterns)
        granted = set(RoleAppGrant.objects.filter(group=group).values_list("app_label", flat=True))
        if created:
            group.permissions.set(chosen)
        else:
            # An existing role keeps the merchant's edits; only apps it has never been given (an
            # upgrade added them) are granted, once.
            group.permissions.add(*[p for p in chosen if p.content_type.app_label not in granted])
        labels = {p.content_type.app_label for p in chosen} - granted
        RoleAppGrant.objects.bulk_create(
            [RoleAppGrant(group=group, app_label=label) for label in sorted(labels)], ignore_conflicts=True
        )


def is_operator(user) -> bool:
    """Superusers and members of :data:`OPERATOR_ROLE` (cached on the user for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, _OPERATOR_ATTR, None)
    if cached is None:
        cached = user.groups.filter(name=OPERATOR_ROLE).exists()
        setattr(user, _OPERATOR_ATTR, cached)
    return cached
