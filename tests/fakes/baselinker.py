"""A fake BaseLinker API (``connector.php``) that checks what the real one checks.

Form POST with ``method`` and ``parameters`` (JSON) and the ``X-BLToken`` header; answers
``{"status": "SUCCESS", ...}`` or ``{"status": "ERROR", "error_code", "error_message"}``.
Implemented methods: getInventories, getInventoryProductsList (1,000 a page),
addInventoryProduct (parent_id for variants), updateInventoryProductsStock and
updateInventoryProductsPrices (at most 1,000 products, ``warnings`` per unknown product or bad
value), getOrders (confirmed ones from ``date_confirmed_from``, 100 a page, ordered by
``date_confirmed``), getJournalList, setOrderStatus.

Misbehaviour on demand: ``script`` is a list of FakeResponse (or "limit" for an ERROR limit
answer) served before the real answer, one per request; ``limit_per_minute`` answers the limit
error past that many requests in 60 s; ``warn_ids`` makes the stock/price updates warn for these
product ids.

    with FakeBaseLinker(token="t0ken") as bl:
        bl.add_product(sku="KUB-1")             # -> "1001"
        bl.add_order(products=[{"sku": "KUB-1", "quantity": 1, "price_brutto": 19.99}])
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest

MAX_PRODUCTS = 1000


def ok(**data) -> dict:
    return {"status": "SUCCESS", **data}


def error(code: str, message: str) -> dict:
    return {"status": "ERROR", "error_code": code, "error_message": message}


class FakeBaseLinker:
    def __init__(self, *, token: str = "bl-token", inventory_id: int = 307, warehouse: str = "bl_206"):
        self.token = token
        self.inventory_id = inventory_id
        self.warehouse = warehouse
        self.price_group = 105
        self.server = FakeHTTPServer()
        self.server.route("POST", "/connector.php", self._handle)
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: list[dict[str, Any]] = []
        self.journal: list[dict[str, Any]] = []
        self.statuses: list[tuple[int, int]] = []
        self.calls: list[tuple[str, dict]] = []
        self.script: list[FakeResponse | str] = []
        self.limit_per_minute: int | None = None
        self.warn_ids: set[str] = set()
        self._times: list[float] = []
        self._ids = itertools.count(1001)
        self._order_ids = itertools.count(5001)
        self._log_ids = itertools.count(1)

    def __enter__(self) -> FakeBaseLinker:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("/connector.php")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def methods(self, name: str | None = None) -> list[dict]:
        return [params for method, params in self.calls if name is None or method == name]

    # --- state helpers --------------------------------------------------------------------------

    def add_product(self, *, sku: str = "", ean: str = "", parent_id: str = "", name: str = "") -> str:
        product_id = str(next(self._ids))
        self.products[product_id] = {
            "id": int(product_id),
            "sku": sku,
            "ean": ean,
            "name": name,
            "parent_id": parent_id,
            "stock": {},
            "prices": {},
        }
        return product_id

    def add_order(self, *, products: list[dict], date_confirmed: int | None = None, **fields) -> dict:
        order_id = next(self._order_ids)
        total = sum(
            float(p.get("price_brutto", 0)) * p["quantity"]
            for p in products
            if isinstance(p.get("quantity"), int)
        )
        order = {
            "order_id": order_id,
            "shop_order_id": 0,
            "external_order_id": "",
            "order_source": "allegro",
            "order_status_id": 10,
            "confirmed": True,
            "date_confirmed": date_confirmed or int(time.time()) - 60,
            "date_add": (date_confirmed or int(time.time())) - 120,
            "email": "kupujacy@example.com",
            "phone": "600100200",
            "user_login": "kupujacy",
            "currency": "PLN",
            "payment_method": "PayU",
            "payment_method_cod": "0",
            "payment_done": round(total + float(fields.get("delivery_price", 12.0)), 2),
            "delivery_method": "InPost Paczkomaty 24/7",
            "delivery_price": 12.0,
            "delivery_fullname": "Jan Kowalski",
            "delivery_company": "",
            "delivery_address": "Marszałkowska 1",
            "delivery_postcode": "00-001",
            "delivery_city": "Warszawa",
            "delivery_country_code": "PL",
            "delivery_point_id": "WAW01M",
            "invoice_fullname": "",
            "invoice_company": "",
            "invoice_nip": "",
            "want_invoice": "0",
            "user_comments": "",
            "products": [
                {
                    "storage": "db",
                    "order_product_id": 90000 + i,
                    "product_id": "",
                    "name": p.get("name", p.get("sku", "")),
                    "sku": p.get("sku", ""),
                    "ean": p.get("ean", ""),
                    "price_brutto": p.get("price_brutto", 10.0),
                    "tax_rate": 23,
                    "quantity": p.get("quantity", 1),
                }
                for i, p in enumerate(products)
            ],
        }
        order.update(fields)
        self.orders.append(order)
        return order

    def log(self, *, order_id: int, log_type: int, object_id: int = 0) -> None:
        self.journal.append(
            {
                "log_id": next(self._log_ids),
                "log_type": log_type,
                "order_id": order_id,
                "object_id": object_id,
                "date": int(time.time()),
            }
        )

    # --- protocol -------------------------------------------------------------------------------

    def _json(self, data: dict, status: int = 200) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _handle(self, request: RecordedRequest) -> FakeResponse:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        method = (form.get("method") or [""])[0]
        try:
            params = json.loads((form.get("parameters") or ["{}"])[0] or "{}")
        except ValueError:
            return self._json(error("ERROR_PARAMETERS", "parameters is not valid JSON"))
        self.calls.append((method, params))
        now = time.time()
        self._times = [t for t in self._times if now - t < 60] + [now]
        if self.script:
            scripted = self.script.pop(0)
            if scripted == "limit":
                return self._json(
                    error("ERROR_QUERY_LIMIT_EXCEEDED", "Query limit exceeded, token blocked until ...")
                )
            return scripted
        if request.headers.get("x-bltoken") != self.token:
            return self._json(error("ERROR_BAD_TOKEN", "Invalid user token"))
        if self.limit_per_minute is not None and len(self._times) > self.limit_per_minute:
            return self._json(error("ERROR_QUERY_LIMIT_EXCEEDED", "Query limit exceeded"))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._json(error("ERROR_UNKNOWN_METHOD", f"Unknown method {method}"))
        if not isinstance(params, dict):
            return self._json(error("ERROR_PARAMETERS", "parameters must be an object"))
        return self._json(handler(params))

    def _inventory_ok(self, params) -> bool:
        return str(params.get("inventory_id")) == str(self.inventory_id)

    def _m_getInventories(self, params):
        return ok(
            inventories=[
                {
                    "inventory_id": self.inventory_id,
                    "name": "Magazyn sklepu",
                    "warehouses": [self.warehouse],
                    "price_groups": [self.price_group],
                    "default_warehouse": self.warehouse,
                }
            ]
        )

    def _m_getInventoryProductsList(self, params):
        if not self._inventory_ok(params):
            return error("ERROR_INVENTORY_NOT_FOUND", "Inventory not found")
        page = int(params.get("page") or 1)
        items = list(self.products.items())[(page - 1) * MAX_PRODUCTS : page * MAX_PRODUCTS]
        return ok(
            products={
                pid: {"id": p["id"], "sku": p["sku"], "ean": p["ean"], "name": p["name"]} for pid, p in items
            }
        )

    def _m_addInventoryProduct(self, params):
        if not self._inventory_ok(params):
            return error("ERROR_INVENTORY_NOT_FOUND", "Inventory not found")
        parent = str(params.get("parent_id") or "")
        if parent and parent not in self.products:
            return error("ERROR_PRODUCT_NOT_FOUND", f"Parent product {parent} not found")
        name = (params.get("text_fields") or {}).get("name", "")
        product_id = self.add_product(
            sku=params.get("sku", ""), ean=params.get("ean", ""), parent_id=parent, name=name
        )
        return ok(product_id=int(product_id), warnings={})

    def _update(self, params, key: str, valid) -> dict:
        if not self._inventory_ok(params):
            return error("ERROR_INVENTORY_NOT_FOUND", "Inventory not found")
        products = params.get("products")
        if not isinstance(products, dict):
            return error("ERROR_PARAMETERS", "products must be an object")
        if len(products) > MAX_PRODUCTS:
            return error("ERROR_PRODUCTS_LIMIT", f"Maximum {MAX_PRODUCTS} products at a time")
        warnings = {}
        counter = 0
        for product_id, values in products.items():
            if product_id not in self.products:
                warnings[product_id] = "Product not found"
                continue
            if product_id in self.warn_ids:
                warnings[product_id] = "Product is locked by another process"
                continue
            problem = valid(values)
            if problem:
                warnings[product_id] = problem
                continue
            self.products[product_id][key].update(values)
            counter += 1
        return ok(counter=counter, warnings=warnings or "")

    def _m_updateInventoryProductsStock(self, params):
        def valid(values):
            if not isinstance(values, dict):
                return "stocks must be an object"
            for warehouse, quantity in values.items():
                if warehouse != self.warehouse:
                    return f"Unknown warehouse {warehouse}"
                if not isinstance(quantity, int) or quantity < 0:
                    return "Invalid stock value"
            return ""

        return self._update(params, "stock", valid)

    def _m_updateInventoryProductsPrices(self, params):
        def valid(values):
            if not isinstance(values, dict):
                return "prices must be an object"
            for group, price in values.items():
                if str(group) != str(self.price_group):
                    return f"Unknown price group {group}"
                if not isinstance(price, int | float) or price < 0:
                    return "Invalid price"
            return ""

        return self._update(params, "prices", valid)

    def _m_getOrders(self, params):
        since = params.get("date_confirmed_from")
        if not isinstance(since, int):
            return error("ERROR_PARAMETERS", "date_confirmed_from must be a unix timestamp")
        if params.get("get_unconfirmed_orders") not in (False, None):
            return error("ERROR_PARAMETERS", "this fake serves confirmed orders only")
        found = sorted(
            (
                o
                for o in self.orders
                if isinstance(o.get("date_confirmed"), int) and o["date_confirmed"] >= since
            ),
            key=lambda o: (o["date_confirmed"], o["order_id"]),
        )
        return ok(orders=found[:100])

    def _m_getJournalList(self, params):
        last = int(params.get("last_log_id") or 0)
        types = set(params.get("logs_types") or [])
        # Malformed entries a test planted are served as they are, every time.
        return ok(
            logs=[
                e
                for e in self.journal
                if not isinstance(e, dict)
                or not isinstance(e.get("log_id"), int)
                or (e["log_id"] > last and (not types or e.get("log_type") in types))
            ][:100]
        )

    def _m_setOrderStatus(self, params):
        order_id, status_id = params.get("order_id"), params.get("status_id")
        if not isinstance(order_id, int) or not isinstance(status_id, int):
            return error("ERROR_PARAMETERS", "order_id and status_id must be numbers")
        if not any(o["order_id"] == order_id for o in self.orders):
            return error("ERROR_ORDER_NOT_FOUND", "Order not found")
        self.statuses.append((order_id, status_id))
        return ok()
