"""BaseLinker (Base.com): the hub many Polish shops use to reach Allegro, Amazon, eBay, Erli, ...

One endpoint, ``POST connector.php``, header ``X-BLToken``, form fields ``method`` and
``parameters`` (JSON). Every answer has ``status`` SUCCESS or ERROR (with ``error_code`` and
``error_message``). The account allows 100 requests a minute: the client's token bucket keeps
under ``requests_per_minute``, and a limit answer (HTTP 429, or ERROR with a limit code) waits
and tries again.

What the connector does:

- listings are BaseLinker *inventory* products: matched by SKU in the inventory
  (``getInventoryProductsList``) or created (``addInventoryProduct``; a product with several
  variants gets a parent product and one variant per shop variant, ``parent_id``);
- stock and prices go in batches of up to 1,000 (``updateInventoryProductsStock`` to the
  configured warehouse ``bl_<id>``, ``updateInventoryProductsPrices`` to the price group); the
  per-product ``warnings`` of an answer become per-item errors;
- orders come from ``getOrders`` (confirmed ones, 100 a page, the next page from the last
  ``date_confirmed`` + 1, the cursor stored), payments and status changes of imported orders
  from ``getJournalList`` (when the journal is enabled in BaseLinker);
- shop statuses go back with ``setOrderStatus`` through the ``status_map`` option
  (shop status -> BaseLinker status id).
"""

from __future__ import annotations

import logging
import re
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...connectors import ConfigField, register
from ..base import ChannelConnector, ExternalOrder, ListingUpdate, PushResult
from .client import API_URL, AUTH_CODES, BaseLinkerClient, BaseLinkerError, _warnings
from .orders import parse_order

log = logging.getLogger(__name__)

MAX_BATCH = 1000
ORDERS_PER_PAGE = 100
WAREHOUSE_RE = re.compile(r"^(bl|shop|warehouse)_\d{1,12}$")
# Journal entry types (getJournalList): 3 payment of the order, 18 order status change.
JOURNAL_PAYMENT, JOURNAL_STATUS = 3, 18


@register
class BaseLinkerConnector(ChannelConnector):
    type = "baselinker"
    label = "BaseLinker"
    max_batch_size = MAX_BATCH
    order_source = "baselinker"
    config_schema = (
        *ChannelConnector.common_fields(),
        ConfigField("api_url", gettext_lazy("API address"), "url", required=True, default=API_URL),
        ConfigField(
            "api_token",
            gettext_lazy("API token"),
            secret=True,
            help=gettext_lazy("BaseLinker: My account -> API -> generate a token."),
        ),
        ConfigField(
            "inventory_id", gettext_lazy("Inventory (catalog) id"), "int", required=True, min_value=1
        ),
        ConfigField(
            "warehouse",
            gettext_lazy("Warehouse"),
            required=True,
            default="bl_1",
            help=gettext_lazy('The inventory warehouse stock is written to, e.g. "bl_123".'),
        ),
        ConfigField("price_group_id", gettext_lazy("Price group id"), "int", required=True, min_value=1),
        ConfigField(
            "requests_per_minute",
            gettext_lazy("Requests per minute"),
            "int",
            default=90,
            min_value=1,
            max_value=100,
            help=gettext_lazy("BaseLinker allows 100; keep a margin for other tools using the same token."),
        ),
        ConfigField(
            "create_products",
            gettext_lazy("Create missing products in the inventory"),
            "bool",
            default=True,
            help=gettext_lazy("Off: variants whose SKU is not in the inventory are reported, not created."),
        ),
        ConfigField(
            "import_days_back",
            gettext_lazy("First import: orders of the last (days)"),
            "int",
            default=7,
            min_value=0,
            max_value=365,
        ),
        ConfigField(
            "cancelled_status_ids",
            gettext_lazy("BaseLinker statuses meaning cancelled"),
            "json",
            default=[],
            help=gettext_lazy(
                "A list of status ids, e.g. [1234, 1235]: orders moved there are cancelled in the shop."
            ),
        ),
        ConfigField(
            "use_journal",
            gettext_lazy("Follow payments and status changes (journal)"),
            "bool",
            default=True,
            help=gettext_lazy("Needs the order journal switched on in BaseLinker's API settings."),
        ),
    )

    def __init__(self, config):
        super().__init__(config)
        self._client: BaseLinkerClient | None = None

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        super().validate_settings(settings_)
        if not WAREHOUSE_RE.match(str(settings_.get("warehouse") or "")):
            raise ValidationError({"warehouse": _('Write the warehouse as "bl_<number>", e.g. "bl_123".')})
        ids = settings_.get("cancelled_status_ids")
        if ids not in (None, "") and (
            not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise ValidationError({"cancelled_status_ids": _("Give a list of whole numbers, e.g. [1234].")})
        for value in (settings_.get("status_map") or {}).values():
            if not str(value).strip().isdigit():
                raise ValidationError({"status_map": _("BaseLinker status ids are whole numbers.")})

    # --- client ---------------------------------------------------------------------------------

    @property
    def client(self) -> BaseLinkerClient:
        if self._client is None:
            token = self.secrets.get("api_token", "")
            if not token:
                raise BaseLinkerError(_("The BaseLinker API token is not set."), code="ERROR_NO_TOKEN")
            rate = (self.options.get("requests_per_minute") or 90) / 60
            http = self.http_client(
                headers={"X-BLToken": token},
                rate_per_second=rate if settings.INTEGRATIONS_RATE_PER_SECOND else 0,
                burst=1,
            )
            self._client = BaseLinkerClient(http=http, url=self.options["api_url"])
        return self._client

    @property
    def inventory_id(self) -> int:
        return int(self.options["inventory_id"])

    def test_connection(self) -> str:
        data = self.client.call("getInventories")
        inventories = data.get("inventories") or []
        found = next((i for i in inventories if str(i.get("inventory_id")) == str(self.inventory_id)), None)
        if found is None:
            raise ValidationError(
                _("The token works, but inventory %(id)s is not in this BaseLinker account.")
                % {"id": self.inventory_id}
            )
        problems = []
        warehouses = [str(w) for w in found.get("warehouses") or []]
        if warehouses and self.options["warehouse"] not in warehouses:
            problems.append(_("warehouse %(w)s is not in it") % {"w": self.options["warehouse"]})
        groups = [str(g) for g in found.get("price_groups") or []]
        if groups and str(self.options["price_group_id"]) not in groups:
            problems.append(_("price group %(g)s is not in it") % {"g": self.options["price_group_id"]})
        if problems:
            raise ValidationError(
                _("Inventory %(name)s found, but %(problems)s.")
                % {"name": found.get("name", self.inventory_id), "problems": "; ".join(problems)}
            )
        return _("Inventory %(name)s found.") % {"name": found.get("name", self.inventory_id)}

    # --- listings -------------------------------------------------------------------------------

    def _inventory_skus(self) -> dict[str, str]:
        """SKU -> BaseLinker product id for the whole inventory (1,000 products a page)."""
        found: dict[str, str] = {}
        for page in range(1, settings.CHANNELS_BASELINKER_MAX_PRODUCT_PAGES + 1):
            data = self.client.call(
                "getInventoryProductsList", {"inventory_id": self.inventory_id, "page": page}
            )
            products = data.get("products") or {}
            if not isinstance(products, dict):
                raise BaseLinkerError(_("BaseLinker's product list is malformed."))
            for key, product in products.items():
                if isinstance(product, dict) and product.get("sku"):
                    found.setdefault(str(product["sku"]), str(product.get("id") or key))
            if len(products) < MAX_BATCH:
                break
        return found

    def prepare_listings(self, listings: list, *, run) -> None:
        existing = self._inventory_skus()
        create = self.options.get("create_products", True)
        parents: dict[int, str] = {}
        from ..models import ChannelListing

        product_ids = {listing.variant.product_id for listing in listings}
        for data in ChannelListing.objects.filter(
            config=self.config, variant__product_id__in=product_ids, data__has_key="parent_id"
        ).values_list("variant__product_id", "data"):
            parents.setdefault(data[0], str(data[1]["parent_id"]))
        variant_counts = _variant_counts(product_ids)
        for listing in listings:
            variant = listing.variant
            if variant.sku in existing:
                listing.external_id = existing[variant.sku]
                continue
            if not create:
                listing.error = _("SKU %(sku)s is not in the BaseLinker inventory.") % {"sku": variant.sku}
                continue
            try:
                parent_id = ""
                if variant_counts.get(variant.product_id, 1) > 1:
                    parent_id = parents.get(variant.product_id) or self._add_parent(variant.product)
                    parents[variant.product_id] = parent_id
                listing.external_id = self._add_product(variant, parent_id=parent_id)
                if parent_id:
                    listing.data = {**(listing.data or {}), "parent_id": parent_id}
            except BaseLinkerError as exc:
                if exc.code in AUTH_CODES:
                    raise
                listing.error = str(exc)

    def _add_parent(self, product) -> str:
        data = self.client.call(
            "addInventoryProduct",
            {
                "inventory_id": self.inventory_id,
                "product_id": "",
                "tax_rate": _tax_rate(product.vat_rate),
                "text_fields": {
                    "name": product.name[:200],
                    "description": (product.description or "")[:60000],
                },
            },
        )
        return str(data.get("product_id") or "")

    def _add_product(self, variant, *, parent_id: str) -> str:
        params: dict[str, Any] = {
            "inventory_id": self.inventory_id,
            "product_id": "",
            "sku": variant.sku[:50],
            "ean": variant.ean,
            "tax_rate": _tax_rate(variant.product.vat_rate),
            "weight": float(Decimal(variant.weight_grams) / 1000),
            "text_fields": {"name": str(variant)[:200]},
        }
        if parent_id:
            params["parent_id"] = parent_id
        data = self.client.call("addInventoryProduct", params)
        product_id = str(data.get("product_id") or "")
        if not product_id:
            raise BaseLinkerError(_("BaseLinker created the product but gave no id."))
        return product_id

    # --- push -----------------------------------------------------------------------------------

    def push_stock_prices(self, batch: list[ListingUpdate]) -> list[PushResult]:
        errors: dict[int, str] = {}
        by_external = {u.external_id: u for u in batch}
        stock = {u.external_id: {self.options["warehouse"]: u.quantity} for u in batch if u.quantity_changed}
        prices = {
            u.external_id: {str(self.options["price_group_id"]): float(u.price)}
            for u in batch
            if u.price_changed
        }
        for method, products in (
            ("updateInventoryProductsStock", stock),
            ("updateInventoryProductsPrices", prices),
        ):
            if not products:
                continue
            try:
                data = self.client.call(method, {"inventory_id": self.inventory_id, "products": products})
            except BaseLinkerError as exc:
                if exc.code in AUTH_CODES or not exc.code:
                    raise  # the token, the network or the protocol: the whole batch waits
                for external_id in products:
                    errors.setdefault(by_external[external_id].listing_id, str(exc))
                continue
            for external_id, message in _warnings(data).items():
                update = by_external.get(external_id)
                if update is not None:
                    errors.setdefault(update.listing_id, message or _("BaseLinker refused the update."))
        return [
            PushResult(
                listing_id=u.listing_id, ok=u.listing_id not in errors, error=errors.get(u.listing_id, "")
            )
            for u in batch
        ]

    # --- orders ---------------------------------------------------------------------------------

    def fetch_orders(self, cursor: dict[str, Any]) -> tuple[list[ExternalOrder], dict[str, Any]]:
        cursor = dict(cursor or {})
        since = cursor.get("date_confirmed_from")
        if not isinstance(since, int):
            days = self.options.get("import_days_back") or 0
            since = int(time.time()) - days * 86400
            cursor["date_confirmed_from"] = since
        data = self.client.call("getOrders", {"date_confirmed_from": since, "get_unconfirmed_orders": False})
        raw_orders = data.get("orders")
        if not isinstance(raw_orders, list):
            raise BaseLinkerError(_("BaseLinker's order list is malformed."))
        orders = [self._parse_or_flag(raw) for raw in raw_orders[:ORDERS_PER_PAGE]]
        confirmed = [
            raw.get("date_confirmed")
            for raw in raw_orders
            if isinstance(raw, dict) and isinstance(raw.get("date_confirmed"), int)
        ]
        if orders:
            if confirmed:
                cursor["date_confirmed_from"] = max(max(confirmed) + 1, since)
            return orders, cursor
        if self.options.get("use_journal", True):
            return self._journal(cursor)
        return [], cursor

    def _parse_or_flag(self, raw: Any) -> ExternalOrder:
        try:
            return self.parse_order(raw)
        except (ValueError, KeyError, TypeError) as exc:
            external_id = str(raw.get("order_id")) if isinstance(raw, dict) and raw.get("order_id") else "?"
            return ExternalOrder(
                external_id=external_id,
                status="",
                lines=[],
                raw=raw if isinstance(raw, dict) else {"value": str(raw)[:1000]},
                problem=_("BaseLinker's order data cannot be read: %(e)s") % {"e": exc},
            )

    def _journal(self, cursor: dict[str, Any]) -> tuple[list[ExternalOrder], dict[str, Any]]:
        """Payments and status changes of orders already imported, from the order journal."""
        from ..models import ChannelOrder

        last = cursor.get("last_log_id") if isinstance(cursor.get("last_log_id"), int) else 0
        try:
            data = self.client.call(
                "getJournalList", {"last_log_id": last, "logs_types": [JOURNAL_PAYMENT, JOURNAL_STATUS]}
            )
        except BaseLinkerError as exc:
            if exc.code in AUTH_CODES or not exc.code:
                raise
            log.info("BaseLinker journal unavailable for %s: %s", self.config, exc)
            return [], cursor
        logs = data.get("logs") or []
        if not isinstance(logs, list):
            raise BaseLinkerError(_("BaseLinker's journal is malformed."))
        cancelled_ids = {str(i) for i in self.options.get("cancelled_status_ids") or []}
        changes: dict[str, dict[str, bool]] = {}
        for entry in logs:
            if not isinstance(entry, dict) or not isinstance(entry.get("log_id"), int):
                continue
            last = max(last, entry["log_id"])
            order_id = str(entry.get("order_id") or "")
            change = changes.setdefault(order_id, {"paid": False, "cancelled": False, "status": ""})
            if entry.get("log_type") == JOURNAL_PAYMENT:
                change["paid"] = True
            elif entry.get("log_type") == JOURNAL_STATUS:
                change["status"] = str(entry.get("object_id") or "")
                change["cancelled"] = change["status"] in cancelled_ids
        known = {
            co.external_id: co
            for co in ChannelOrder.objects.filter(
                config=self.config, external_id__in=list(changes), order__isnull=False
            )
        }
        updates = []
        for order_id, change in changes.items():
            co = known.get(order_id)
            if co is None:
                continue
            raw = dict((co.payload or {}).get("raw") or {})
            if change["status"]:
                raw["order_status_id"] = change["status"]
            try:
                parsed = self.parse_order(raw)
            except (ValueError, KeyError, TypeError):
                continue
            parsed.paid = parsed.paid or change["paid"]
            parsed.cancelled = parsed.cancelled or change["cancelled"]
            updates.append(parsed)
        # Entries about orders never imported still move the cursor.
        return updates, {**cursor, "last_log_id": last}

    def parse_order(self, raw: dict[str, Any]) -> ExternalOrder:
        return parse_order(raw, cancelled_status_ids=self.options.get("cancelled_status_ids") or [])

    def send_fulfilment(self, *, channel_order, status: str, order) -> None:
        self.client.call(
            "setOrderStatus", {"order_id": int(channel_order.external_id), "status_id": int(status)}
        )


def _tax_rate(vat_rate: str) -> float:
    return 0.0 if vat_rate == "zw" else float(vat_rate or 0)


def _variant_counts(product_ids) -> dict[int, int]:
    from django.db.models import Count

    from catalog.models import Variant

    return dict(
        Variant.objects.filter(product_id__in=list(product_ids))
        .values("product_id")
        .annotate(n=Count("pk"))
        .values_list("product_id", "n")
    )
