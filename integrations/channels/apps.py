"""Marketplaces and hubs (Allegro, BaseLinker, Zalando, Google Merchant API): listings pushed, orders imported."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "integrations.channels"
    label = "integrations_channels"
    verbose_name = _("Sales channels")

    def ready(self) -> None:
        from shop import events

        from . import connectors  # noqa: F401 - registers the channel connectors
        from .services import (
            FULFILMENT_HANDLER,
            STOCK_HANDLER,
            handle_order_status_changed,
            handle_stock_changed,
        )

        events.register("stock.changed", STOCK_HANDLER, handle_stock_changed)
        events.register("order.status_changed", FULFILMENT_HANDLER, handle_order_status_changed)
