from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_order_schedules(**kwargs) -> None:
    """The orders app's periodic jobs, as django-celery-beat entries (created only if missing)."""
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Cancel orders not paid in time",
        task="orders.tasks.expire_unpaid_orders",
        every_seconds=60,
        description="Cancels orders whose stock hold expired unpaid, and deletes expired stock holds.",
    )
    ensure_periodic_task(
        name="Resend unsent order emails",
        task="orders.tasks.resend_unsent_order_emails",
        every_seconds=300,
        description="Sends order emails that a broker outage or a mail error left unsent.",
    )
    ensure_periodic_task(
        name="Follow parcel tracking",
        task="orders.carriers.tasks.follow_shipments",
        every_seconds=settings.CARRIER_TRACKING_INTERVAL_SECONDS,
        description="Tracks parcels at their carriers and moves orders to shipped and delivered; "
        "re-sends shipments a broker outage left unsent.",
    )
    ensure_periodic_task(
        name="Finish automatic refunds",
        task="orders.tasks.sweep_refunds",
        every_seconds=settings.ORDERS_REFUND_SWEEP_SECONDS,
        description="Asks gateways again for refunds they never answered, and starts refunds of accepted "
        "returns and cancelled paid orders whose task was lost.",
    )
    ensure_periodic_task(
        name="Send invoices to KSeF",
        task="orders.ksef.tasks.sweep_ksef",
        every_seconds=60,
        description="Sends invoices that KSeF did not take yet (down, refused, offline mode) with "
        "backoff, and checks the ones it is still processing.",
    )


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (after-sales event handlers: invoice on order.paid)
        from .admin_marketing import register

        register()  # voucher batches and order e-mail texts (orders/admin_marketing.py)

        post_migrate.connect(install_order_schedules, sender=self, dispatch_uid="orders-schedules")
