"""Product feeds for price comparison sites and Google Merchant Center (pulled by the partner from a secret URL)."""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_feed_schedules(**kwargs) -> None:
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Regenerate product feeds after catalog changes",
        task="integrations.feeds.tasks.regenerate_changed",
        every_seconds=settings.FEEDS_CHANGE_SWEEP_SECONDS,
        description="Regenerates feeds after a wholesaler import or many stock changes, once the catalog is quiet.",
    )


class FeedsConfig(AppConfig):
    name = "integrations.feeds"
    label = "integrations_feeds"
    verbose_name = _("Product feeds")

    def ready(self) -> None:
        from shop import events

        from . import services

        events.register("stock.changed", "integrations.feeds.note_changes", services.handle_stock_changed)
        post_migrate.connect(install_feed_schedules, sender=self, dispatch_uid="integrations-feeds-schedules")
