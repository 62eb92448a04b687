from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = _("Cart recovery")

    def ready(self) -> None:
        from shop import events

        from .schedules import install_default_campaigns, install_recovery_schedules
        from .services import (
            handle_cart_updated,
            handle_order_event,
            handle_order_status_changed,
            handle_refund_event,
        )

        events.register("cart_updated", "recovery.reset_activity", handle_cart_updated)
        # The order's creation stops reminders and attributes it; "paid" is handled too in case
        # an order is created without the first event reaching us (the handler is idempotent).
        events.register("order.created", "recovery.attribute_order", handle_order_event)
        events.register("order.placed", "recovery.attribute_order", handle_order_event)
        events.register("order.paid", "recovery.attribute_order", handle_order_event)
        # A cancelled order stops counting as recovered or converted.
        events.register("order.status_changed", "recovery.order_cancelled", handle_order_status_changed)
        # Money given back (refund page, return, cancellation): recovered revenue is net of it.
        events.register("order.refunded", "recovery.order_refunded", handle_refund_event)
        # The checkout asks for consent per channel, for the channels recovery really uses.
        from orders.consent import register_channels_source

        from .consent import channels_in_use

        register_channels_source("recovery", channels_in_use)
        post_migrate.connect(install_recovery_schedules, sender=self, dispatch_uid="recovery-schedules")
        post_migrate.connect(install_default_campaigns, sender=self, dispatch_uid="recovery-default-campaign")
