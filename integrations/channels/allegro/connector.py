"""The Allegro channel connector: what the shared channel layer calls, done the Allegro way.

- ``prepare_listings``: a variant without an offer gets one (``POST /sale/product-offers``);
  Allegro usually answers 202 and finishes later, so the listing stays ``pending`` with its
  operation, polled by :func:`tasks.poll_offer_operations` and at the start of every push run.
- ``push_stock_prices``: the batch becomes quantity and price change commands
  (:mod:`.commands`), one result per listing from the commands' tasks.
- ``fetch_orders`` / ``parse_order``: order events from the stored cursor, then the checkout
  forms (:mod:`.orders`).
- ``send_fulfilment``: ``PUT /order/checkout-forms/{id}/fulfillment``.

Every call goes through :class:`.client.AllegroClient` (token refresh, 429/5xx handling, Allegro's
error format). An authorisation failure ends the run with the reason; anything about one offer or
one order ends up on that listing or order and in the run's log while the rest goes on.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.channels.base import ChannelConnector, ExternalOrder, ListingUpdate, PushResult
from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.connectors.base import RunContext, register
from integrations.models import SyncRunError

from . import options as allegro_options
from .client import AllegroClient

STATUS_MAP_HELP = gettext_lazy(
    "Shop status → Allegro fulfilment status (NEW, PROCESSING, READY_FOR_SHIPMENT, READY_FOR_PICKUP, "
    "SENT, PICKED_UP, CANCELLED, SUSPENDED, RETURNED). Empty: paid → PROCESSING, packed → "
    "READY_FOR_SHIPMENT, shipped → SENT, cancelled → CANCELLED, returned → RETURNED."
)


class AllegroConnector(ChannelConnector):
    type = "allegro"
    label = gettext_lazy("Allegro")
    order_source = "allegro"
    max_batch_size: ClassVar[int] = 1000

    def __init__(self, config):
        super().__init__(config)
        self._client: AllegroClient | None = None
        self._run = None

    # --- configuration --------------------------------------------------------------------------

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        super().validate_settings(settings_)
        allegro_options.validate(settings_)
        from .orders import FULFILMENT_STATUSES

        status_map = settings_.get("status_map") or {}
        wrong = sorted({str(v) for v in status_map.values() if str(v) not in FULFILMENT_STATUSES})
        if wrong:
            raise ValidationError(
                {"status_map": _("Not Allegro fulfilment statuses: %(names)s") % {"names": ", ".join(wrong)}}
            )

    # --- plumbing -------------------------------------------------------------------------------

    @property
    def client(self) -> AllegroClient:
        if self._client is None:
            self._client = AllegroClient(self.config)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def run(self, *, direction: str, context: RunContext) -> None:
        self._run = context.run
        try:
            if direction == "push":
                from . import services

                services.poll_operations(config=self.config, client=self.client, run=context.run)
            elif direction == "orders" and not self.options.get("import_orders", True):
                context.run.summary = {**context.run.summary, "disabled": True}
                return
            super().run(direction=direction, context=context)
        finally:
            self.close()

    def _log(self, key: str, message: str) -> None:
        if self._run is not None:
            SyncRunError.objects.create(run=self._run, key=key[:128], message=message[:5000])

    def test_connection(self) -> str:
        try:
            me = self.client.get("/me")
        finally:
            self.close()
        login = me.get("login") if isinstance(me, dict) else ""
        return _("Connected to Allegro as %(login)s.") % {"login": login or "?"}

    # --- offers ---------------------------------------------------------------------------------

    def prepare_listings(self, listings: list, *, run) -> None:
        """Create the offers of listings that have none (results on each listing)."""
        from . import services

        services.create_offers(config=self.config, client=self.client, listings=listings, run=run)

    def push_stock_prices(self, batch: list[ListingUpdate]) -> list[PushResult]:
        from . import services

        return services.push_batch(config=self.config, client=self.client, batch=batch, options=self.options)

    # --- orders ---------------------------------------------------------------------------------

    def fetch_orders(self, cursor: dict[str, Any]) -> tuple[list[ExternalOrder], dict[str, Any]]:
        from . import orders

        events, last = orders.fetch_events(self.client, cursor)
        if not events:
            return [], cursor
        form_ids: list[str] = []
        for event in events:
            form_id = orders.form_id_of(event)
            if not form_id:
                self._log(
                    str(event.get("id") or ""), _("An order event without a checkout form id was skipped.")
                )
                continue
            if form_id in form_ids:
                form_ids.remove(form_id)  # one fetch per form, at its latest event's place
            form_ids.append(form_id)
        forms = []
        for form_id in form_ids:
            form = orders.fetch_checkout_form(self.client, form_id)
            if form is None:
                self._log(form_id, _("Allegro no longer knows checkout form %(id)s.") % {"id": form_id})
                continue
            forms.append(form)
        skus = orders.offer_skus(self.config, forms)
        result = []
        for form in forms:
            status = form.get("status")
            if status not in orders.IMPORTED_FORM_STATUSES:
                continue  # not finished yet; its READY_FOR_PROCESSING event comes later
            try:
                result.append(orders.parse_checkout_form(form, offer_skus=skus))
            except ValueError as exc:
                self._keep_unreadable(form, str(exc))
        return result, {"from": last}

    def _keep_unreadable(self, form: dict, message: str) -> None:
        """A checkout form we cannot read is kept as a failed channel order (retried next run)."""
        form_id = str(form.get("id") or "")[:100] if isinstance(form, dict) else ""
        text = _("Checkout form %(id)s cannot be read: %(e)s") % {"id": form_id or "?", "e": message}
        self._log(form_id, text)
        if not form_id:
            return
        with transaction.atomic():
            row, _created = ChannelOrder.objects.select_for_update().get_or_create(
                config=self.config, external_id=form_id, defaults={"payload": {"raw": form}}
            )
            if row.order_id is None:
                row.payload = {"raw": form}
                row.error = text[:2000]
                row.attempts += 1
                row.save()

    def parse_order(self, raw: dict[str, Any]) -> ExternalOrder:
        """A stored checkout form, fetched again when possible: a retry sees the order as it is
        now (paid or cancelled meanwhile), not as it was when it first failed."""
        from . import orders

        form = raw
        form_id = str(raw.get("id") or "") if isinstance(raw, dict) else ""
        if form_id:
            fresh = orders.fetch_checkout_form(self.client, form_id)
            if fresh is not None:
                form = fresh
        return orders.parse_checkout_form(form, offer_skus=orders.offer_skus(self.config, [form]))

    def fulfilment_status_for(self, status: str) -> str | None:
        from .orders import DEFAULT_STATUS_MAP

        mapping = self.options.get("status_map") or DEFAULT_STATUS_MAP
        value = mapping.get(status)
        return str(value) if value not in (None, "") else None

    def send_fulfilment(self, *, channel_order: ChannelOrder, status: str, order) -> None:
        """The fulfilment status, and with SENT the order's parcel number (once)."""
        from . import orders

        try:
            if status == "SENT" and order.tracking_number:
                raw = (channel_order.payload or {}).get("raw") or {}
                items = raw.get("lineItems") if isinstance(raw, dict) else None
                orders.send_tracking(
                    self.client,
                    form_id=channel_order.external_id,
                    waybill=order.tracking_number,
                    shipping_method_name=order.shipping_method_name,
                    line_item_ids=[i.get("id") for i in items or [] if isinstance(i, dict)],
                )
            self.client.put(
                f"/order/checkout-forms/{channel_order.external_id}/fulfillment",
                {"status": status},
                ok=(200, 201, 204),
            )
        finally:
            self.close()


def _schema() -> tuple:
    fields = []
    for field in AllegroConnector.common_fields():
        if field.name == "status_map":
            from dataclasses import replace

            field = replace(field, help=STATUS_MAP_HELP)
        fields.append(field)
    return (*fields, *allegro_options.CONFIG_SCHEMA)


AllegroConnector.config_schema = _schema()
register(AllegroConnector)

__all__ = ["AllegroConnector", "ChannelListing"]
