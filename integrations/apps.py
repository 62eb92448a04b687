from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_integrations_schedules(**kwargs) -> None:
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Retry purchase orders to wholesalers",
        task="integrations.tasks.retry_purchase_orders",
        every_seconds=settings.INTEGRATIONS_PO_RETRY_EVERY_SECONDS,
        description="Sends purchase orders whose earlier attempt failed, with backoff.",
    )
    ensure_periodic_task(
        name="Delete old sync runs",
        task="integrations.tasks.cleanup_runs",
        crontab={"minute": "15", "hour": "4"},
        description="Deletes sync runs and their error logs older than INTEGRATIONS_RUN_RETENTION_DAYS.",
    )


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from shop import events

        from . import purchase_orders
        from .wholesalers import connector  # noqa: F401 - registers the wholesaler connector

        events.register("order.paid", "integrations.purchase_orders", purchase_orders.handle_order_paid)
        post_migrate.connect(
            install_integrations_schedules, sender=self, dispatch_uid="integrations-schedules"
        )
