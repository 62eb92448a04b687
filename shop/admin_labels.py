"""Names for the fields and models the project's models leave unnamed (Django then shows the
attribute name, in English: "created at", "store", "Stock reservations").

One glossary, applied once the apps are loaded (``apply()``, called from shop/admin.py before any
admin form is built): a field whose ``verbose_name`` was not given gets the translatable name
below. Only the runtime label changes: migrations read the declared options, so none is needed.
A field named explicitly in its model keeps its own name.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

PROJECT_APPS = {"shop", "api", "catalog", "orders", "recovery", "integrations", "reports"}

FIELD_NAMES = {
    "account": _("account"),
    "added_at": _("added at"),
    "asset": _("asset"),
    "attempts": _("attempts"),
    "attribute": _("attribute"),
    "auth": _("auth"),
    "buyer": _("buyer"),
    "campaign": _("campaign"),
    "cart": _("cart"),
    "channel": _("channel"),
    "checkout_token": _("checkout token"),
    "claimed_at": _("claimed at"),
    "components": _("components"),
    "config": _("config"),
    "confirmed_at": _("confirmed at"),
    "consent_seq": _("consent seq"),
    "context": _("context"),
    "corrects": _("corrects"),
    "created_at": _("created at"),
    "created_by": _("created by"),
    "currency": _("currency"),
    "data": _("data"),
    "decided_at": _("decided at"),
    "decided_by": _("decided by"),
    "delta": _("delta"),
    "depth": _("depth"),
    "email": _("email"),
    "event": _("event"),
    "environment": _("environment"),
    "etag": _("etag"),
    "expires_at": _("expires at"),
    "failure_reason": _("failure reason"),
    "file_name": _("file name"),
    "first_change_at": _("first change at"),
    "from_status": _("from status"),
    "gift_card": _("gift card"),
    "heartbeat_at": _("heartbeat at"),
    "idempotency_key": _("idempotency key"),
    "key": _("key"),
    "kind": _("kind"),
    "language": _("language"),
    "last_change_at": _("last change at"),
    "last_error": _("last error"),
    "locked_until": _("locked until"),
    "method": _("method"),
    "min_price": _("min price"),
    "month": _("month"),
    "note": _("note"),
    "notified_at": _("notified at"),
    "order": _("order"),
    "order_line": _("order line"),
    "ordered_at": _("ordered at"),
    "outcome": _("outcome"),
    "p256dh": _("p256dh"),
    "paid_at": _("paid at"),
    "params_hash": _("params hash"),
    "path": _("path"),
    "payload": _("payload"),
    "payment": _("payment"),
    "payment_method": _("payment method"),
    "pdf": _("pdf"),
    "pending_changes": _("pending changes"),
    "popularity": _("popularity"),
    "position": _("position"),
    "processed_at": _("processed at"),
    "product": _("product"),
    "product_kind": _("product kind"),
    "provider": _("provider"),
    "quantity": _("quantity"),
    "quantity_after": _("quantity after"),
    "reason": _("reason"),
    "received_at": _("received at"),
    "recipient": _("recipient"),
    "recovered_order": _("recovered order"),
    "reference": _("reference"),
    "refunded_at": _("refunded at"),
    "return_request": _("return request"),
    "salt": _("salt"),
    "search_text": _("search text"),
    "secret_encrypted": _("secret encrypted"),
    "secret_hash": _("secret hash"),
    "secrets_encrypted": _("secrets encrypted"),
    "seller": _("seller"),
    "sent_at": _("sent at"),
    "sequence": _("sequence"),
    "shipment": _("shipment"),
    "shipping_method": _("shipping method"),
    "shipping_vat_rate": _("shipping vat rate"),
    "signature": _("signature"),
    "snapshot": _("snapshot"),
    "state": _("state"),
    "status": _("status"),
    "step": _("step"),
    "stock_item": _("stock item"),
    "store": _("store"),
    "subscription": _("subscription"),
    "to_status": _("to status"),
    "token": _("token"),
    "total_gross": _("total gross"),
    "total_net": _("total net"),
    "total_vat": _("total vat"),
    "tracked": _("tracked"),
    "type": _("type"),
    "updated_at": _("updated at"),
    "user": _("user"),
    "variant": _("variant"),
    "voucher": _("voucher"),
    "weight_grams": _("weight grams"),
    "year": _("year"),
    "warehouse": _("warehouse"),
    "price": _("price"),
    "compare_at_price": _("compare at price"),
    "valid_from": _("valid from"),
}

MODEL_NAMES = {
    "shop.Event": (_("event"), _("events")),
    "shop.EventDelivery": (_("event delivery"), _("event deliveries")),
    "catalog.PriceHistory": (_("price history"), _("price history")),
    "catalog.StockReservation": (_("stock reservation"), _("stock reservations")),
}


def apply() -> None:
    for model in apps.get_models():
        if model._meta.app_label.split("_")[0] not in PROJECT_APPS:
            continue
        names = MODEL_NAMES.get(model._meta.label)
        if names and "verbose_name" not in model._meta.original_attrs:
            model._meta.verbose_name, model._meta.verbose_name_plural = names
        for field in model._meta.get_fields():
            # ``_verbose_name`` is what the model declared (None: Django made one from the name).
            if getattr(field, "_verbose_name", "") is None and field.name in FIELD_NAMES:
                field.verbose_name = FIELD_NAMES[field.name]
