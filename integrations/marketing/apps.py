"""Analytics, ads and review tags per store, rendered only after the shopper's consent."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_marketing_schedules(**kwargs) -> None:
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Delete old cookie consents",
        task="integrations.marketing.tasks.delete_old_consent_logs",
        crontab={"minute": "40", "hour": "4"},
        description="Deletes cookie-consent proofs older than MARKETING_CONSENT_LOG_RETENTION_DAYS.",
    )


class MarketingConfig(AppConfig):
    name = "integrations.marketing"
    label = "integrations_marketing"
    verbose_name = _("Marketing tags")

    def ready(self) -> None:
        post_migrate.connect(install_marketing_schedules, sender=self, dispatch_uid="marketing-schedules")
