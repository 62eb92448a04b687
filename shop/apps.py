from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Shop")

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the deploy checks)
            observability,  # noqa: F401  (request id into Celery task headers)
        )
        from .admin_mixins import scope_registered_admins
        from .metrics import connect_signals
        from .roles import install_roles
        from .schedules import install_shop_schedules

        post_migrate.connect(install_shop_schedules, sender=self, dispatch_uid="shop-schedules")
        post_migrate.connect(install_roles, dispatch_uid="shop-roles")
        connect_signals()  # Prometheus business counters from the outbox (shop/metrics.py)
        # Runs after django.contrib.admin's autodiscover (listed first in INSTALLED_APPS).
        scope_registered_admins()
