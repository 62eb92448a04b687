"""Invoices and receipts handed to the merchant's accounting system or fiscal printer (Fakturownia, iFirma, POS drop)."""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_accounting_schedule(**kwargs) -> None:
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Send accounting and POS documents",
        task="integrations.accounting.sweep_documents",
        every_seconds=settings.ACCOUNTING_SWEEP_EVERY_SECONDS,
        description="Sends invoices, corrections and receipts whose earlier attempt failed, with backoff.",
    )


class AccountingConfig(AppConfig):
    name = "integrations.accounting"
    label = "integrations_accounting"
    verbose_name = _("Accounting and POS")

    def ready(self) -> None:
        from orders.handlers import INVOICE_HANDLER
        from orders.returns import RETURN_ACCEPTED
        from shop import events

        from . import fakturownia, ifirma, pos, services  # noqa: F401 - registers the connectors

        events.register("order.paid", "integrations.accounting.documents", services.handle_order_paid)
        events.register(
            RETURN_ACCEPTED, "integrations.accounting.corrections", services.handle_return_accepted
        )
        # The shop's own invoice, unless a connector issues it instead (same handler name, so
        # deliveries already recorded for it still count).
        events.register("order.paid", INVOICE_HANDLER, services.issue_shop_invoice_unless_external)
        post_migrate.connect(install_accounting_schedule, sender=self, dispatch_uid="accounting-schedule")
