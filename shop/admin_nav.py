"""The admin's menu by task, not by app: Zamówienia, Produkty, Klienci, Marketing, Raporty,
Integracje, Ustawienia, and System (the technical tables) for superusers and operators.

One mapping, :data:`SECTION_OF` (model label -> section), decides where a registered model is
listed; a model missing from it goes to its app's section (:data:`APP_SECTION`), else to
"Pozostałe", so a new admin is never lost. Pages that are not a model's list (report pages,
the recovery dashboard, the outbox) are :data:`LINKS`, each with the permission it needs.

:func:`install` replaces ``AdminSite.get_app_list``: the home page, the sidebar on every admin
page and the section pages (``/admin/section/<key>/``) all read it. Asked for one app (Django's
own ``/admin/<app_label>/`` pages, reached from the breadcrumbs) it answers that app's models,
without the System ones for whoever may not see System.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Section:
    key: str
    name: object  # a lazy translation
    operators_only: bool = False


SECTIONS: list[Section] = [
    Section("orders", pgettext_lazy("admin menu", "Orders")),
    Section("products", pgettext_lazy("admin menu", "Products")),
    Section("customers", pgettext_lazy("admin menu", "Customers")),
    Section("marketing", pgettext_lazy("admin menu", "Marketing")),
    Section("reports", pgettext_lazy("admin menu", "Reports")),
    Section("integrations", pgettext_lazy("admin menu", "Integrations")),
    Section("settings", pgettext_lazy("admin menu", "Settings")),
    Section("other", pgettext_lazy("admin menu", "Other")),
    Section("system", pgettext_lazy("admin menu", "System"), operators_only=True),
]
SECTION_BY_KEY = {s.key: s for s in SECTIONS}

#: Where each registered model is listed, in this order within its section.
SECTION_OF: dict[str, str] = {
    # Zamówienia: the daily work on orders.
    "orders.Order": "orders",
    "orders.Return": "orders",
    "orders.Shipment": "orders",
    "orders.Invoice": "orders",
    "orders.KsefSubmission": "orders",
    "orders.Payment": "orders",
    "orders.PaymentRefund": "orders",
    "orders.OrderNote": "orders",
    "orders.OrderEmail": "orders",
    "integrations_channels.ChannelOrder": "orders",
    # Produkty: catalog and stock.
    "catalog.Product": "products",
    "catalog.Variant": "products",
    "catalog.Category": "products",
    "catalog.Attribute": "products",
    "catalog.AttributeValue": "products",
    "catalog.ProductGroup": "products",
    "catalog.DigitalAsset": "products",
    "catalog.Warehouse": "products",
    "catalog.StockMovement": "products",
    "integrations.PurchaseOrder": "products",
    "catalog.SearchSynonym": "products",
    "catalog.Manufacturer": "products",
    "catalog.ResponsiblePerson": "products",
    # Klienci: accounts and what shoppers asked for.
    "shop.User": "customers",
    "orders.Address": "customers",
    "orders.Cart": "customers",
    "catalog.BackInStockSubscription": "customers",
    "catalog.DownloadGrant": "customers",
    "orders.ConsentRecord": "customers",
    "recovery.Suppression": "customers",
    "customers.Customer": "customers",
    "customers.CustomerGroup": "customers",
    "content.ContactMessage": "customers",
    # Marketing: cart recovery, discounts, gift cards, tags.
    "recovery.Campaign": "marketing",
    "recovery.TrackedCart": "marketing",
    "recovery.Reminder": "marketing",
    "recovery.Step": "marketing",
    "recovery.PushSubscription": "marketing",
    "orders.Voucher": "marketing",
    "orders.VoucherRedemption": "marketing",
    "orders.GiftCard": "marketing",
    "orders.GiftCardTransaction": "marketing",
    "integrations_marketing.MarketingSettings": "marketing",
    "orders.ConsentText": "marketing",
    "orders.VoucherBatch": "marketing",
    # Raporty.
    "reports.ReportJob": "reports",
    # Integracje: connectors, channels, feeds, accounting, the API.
    "integrations.ConnectorConfig": "integrations",
    "integrations.SyncRun": "integrations",
    "integrations_channels.ChannelListing": "integrations",
    "integrations_feeds.Feed": "integrations",
    "integrations_feeds.FeedRun": "integrations",
    "integrations_accounting.AccountingConnector": "integrations",
    "integrations_accounting.ExternalDocument": "integrations",
    "api.ApiKey": "integrations",
    "api.WebhookSubscription": "integrations",
    # Ustawienia: the store, payments, shipping, invoices, staff.
    "shop.Store": "settings",
    "orders.PaymentMethod": "settings",
    "orders.GatewayAccount": "settings",
    "orders.ShippingMethod": "settings",
    "orders.ShippingRate": "settings",
    "orders.CarrierAccount": "settings",
    "orders.KsefSettings": "settings",
    "auth.Group": "settings",
    "branding.StoreBranding": "settings",
    "content.Page": "settings",
    "content.FooterColumn": "settings",
    "catalog.Redirect": "settings",
    "orders.OrderEmailTemplate": "settings",
    # System: what the machinery writes; superusers and operators only.
    "django_celery_beat.PeriodicTask": "system",
    "django_celery_beat.CrontabSchedule": "system",
    "django_celery_beat.IntervalSchedule": "system",
    "django_celery_beat.ClockedSchedule": "system",
    "django_celery_beat.SolarSchedule": "system",
    "shop.Event": "system",
    "shop.EventDelivery": "system",
    "api.WebhookDelivery": "system",
    "catalog.StockReservation": "system",
    "integrations_marketing.ConsentLog": "system",
    "orders.PaymentNotification": "system",
    "orders.ShipmentEvent": "system",
    "orders.OrderStatusChange": "system",
    "orders.OrderLine": "system",
    "orders.CartLine": "system",
    "orders.ReturnLine": "system",
    "content.PageVersion": "system",
}

#: A model not in :data:`SECTION_OF` goes to its app's section.
APP_SECTION: dict[str, str] = {
    "orders": "orders",
    "catalog": "products",
    "recovery": "marketing",
    "reports": "reports",
    "integrations": "integrations",
    "integrations_channels": "integrations",
    "integrations_feeds": "integrations",
    "integrations_accounting": "integrations",
    "integrations_marketing": "marketing",
    "api": "integrations",
    "content": "settings",
    "customers": "customers",
    "branding": "settings",
    "shop": "settings",
    "auth": "settings",
    "django_celery_beat": "system",
}

#: Names that read better in the menu than the model's plural (the list page keeps its own).
MENU_NAMES: dict[str, object] = {
    "shop.User": _("Accounts"),
    "auth.Group": _("Staff roles"),
    "orders.Cart": _("Carts"),
    "recovery.TrackedCart": _("Abandoned carts"),
    "recovery.Campaign": _("Cart recovery campaigns"),
    "orders.Voucher": _("Discount codes"),
    "integrations.SyncRun": _("Integration runs"),
}


@dataclass(frozen=True)
class Link:
    """A page that is not a model's list, listed in a section for those holding ``perm``."""

    section: str
    url_name: str
    name: object
    perm: str | None
    object_name: str


LINKS: list[Link] = [
    Link(
        "marketing",
        "admin:recovery_dashboard",
        _("Cart recovery dashboard"),
        "recovery.view_recovery_dashboard",
        "RecoveryDashboard",
    ),
    Link(
        "reports",
        "admin:reports_reportjob_sales",
        _("Sales charts"),
        "reports.view_sales_report",
        "SalesReport",
    ),
    Link(
        "reports",
        "admin:reports_reportjob_orders",
        _("Order report"),
        "reports.view_order_report",
        "OrderReport",
    ),
    Link(
        "reports",
        "admin:reports_reportjob_stock",
        _("Stock report"),
        "reports.view_stock_report",
        "StockReport",
    ),
    Link(
        "reports",
        "admin:reports_reportjob_recovery",
        _("Cart recovery report"),
        "reports.view_recovery_report",
        "RecoveryReport",
    ),
    Link("system", "admin:outbox", _("Outbox"), None, "Outbox"),
]


def section_of(label: str) -> str:
    """The section a model (``app_label.ModelName``) is listed in."""
    if label in SECTION_OF:
        return SECTION_OF[label]
    return APP_SECTION.get(label.split(".", 1)[0], "other")


def is_operator(user) -> bool:
    """Superusers and members of the operator role see the System section."""
    from .roles import is_operator as role_is_operator

    return role_is_operator(user)


def _hidden(label: str, user) -> bool:
    return SECTION_BY_KEY[section_of(label)].operators_only and not is_operator(user)


def _link_entries(request, section_key: str) -> list[dict]:
    entries = []
    for link in LINKS:
        if link.section != section_key:
            continue
        if link.perm is None and not request.user.is_superuser:
            continue
        if link.perm is not None and not request.user.has_perm(link.perm):
            continue
        try:
            url = reverse(link.url_name)
        except NoReverseMatch:
            continue
        entries.append(
            {
                "name": link.name,
                "object_name": link.object_name,
                "admin_url": url,
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
                "model": None,
            }
        )
    return entries


def sectioned_app_list(site, request) -> list[dict]:
    """Every model the user may see, once, in its section; sections in :data:`SECTIONS` order,
    models in :data:`SECTION_OF` order (others by name); empty sections left out."""
    apps = site._build_app_dict(request)
    order = {label: i for i, label in enumerate(SECTION_OF)}
    buckets: dict[str, list[dict]] = {s.key: [] for s in SECTIONS}
    for app in apps.values():
        for model in app["models"]:
            label = model["model"]._meta.label
            if _hidden(label, request.user):
                continue
            entry = dict(model)
            if label in MENU_NAMES:
                entry["name"] = MENU_NAMES[label]
            entry["_order"] = (order.get(label, len(order)), str(entry["name"]).lower())
            buckets[section_of(label)].append(entry)
    result = []
    for section in SECTIONS:
        if section.operators_only and not is_operator(request.user):
            continue
        models = sorted(buckets[section.key], key=lambda m: m.pop("_order"))
        models += _link_entries(request, section.key)
        if not models:
            continue
        result.append(
            {
                "name": section.name,
                "app_label": f"section-{section.key}",
                "app_url": reverse(f"{site.name}:section", kwargs={"key": section.key}),
                "has_module_perms": True,
                "models": models,
            }
        )
    return result


def install(site) -> None:
    """Give ``site`` the sectioned menu and the section pages."""
    original_get_app_list = site.get_app_list
    original_get_urls = site.get_urls

    def get_app_list(request, app_label=None):
        if app_label is None:
            return sectioned_app_list(site, request)
        app_list = original_get_app_list(request, app_label)
        for app in app_list:
            app["models"] = [m for m in app["models"] if not _hidden(m["model"]._meta.label, request.user)]
        return [app for app in app_list if app["models"]]

    def section_view(request, key):
        section = SECTION_BY_KEY.get(key)
        if section is None:
            raise Http404
        app_list = [a for a in site.get_app_list(request) if a["app_label"] == f"section-{key}"]
        if not app_list:
            raise Http404
        context = {
            **site.each_context(request),
            "title": section.name,
            "subtitle": None,
            "app_list": app_list,
            "app_label": f"section-{key}",
        }
        request.current_app = site.name
        return TemplateResponse(request, "admin/section_index.html", context)

    def get_urls():
        return [
            path("section/<slug:key>/", site.admin_view(section_view), name="section"),
            *original_get_urls(),
        ]

    site.get_app_list = get_app_list
    site.get_urls = get_urls
