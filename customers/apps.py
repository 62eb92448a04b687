from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

ORDER_EVENTS = (
    "order.created",
    "order.paid",
    "order.status_changed",
    "order.refunded",
    "return.requested",
    "return.accepted",
    "return.rejected",
)


def _backfill(sender, **kwargs) -> None:
    """After migrate: a shop that installs this app gets its existing customers once (the
    ``refresh_customers`` command does the same at any time)."""
    from orders.models import Order

    from .models import Customer

    using = kwargs.get("using", "default")
    if not Customer.objects.using(using).exists() and Order.objects.using(using).exists():
        from .directory import refresh_all

        refresh_all()


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from orders.pricing import register_price_list_source
        from shop import events

        from . import handlers
        from .groups import price_list

        for event_type in ORDER_EVENTS:
            events.register(event_type, "customers.refresh", handlers.handle_order_event)
        events.register("cart_updated", "customers.refresh", handlers.handle_cart_updated)
        events.register("account.registered", "customers.refresh", handlers.handle_account_registered)
        register_price_list_source("customers", price_list)
        post_migrate.connect(_backfill, sender=self, dispatch_uid="customers-backfill")
