from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Shop")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
        from .roles import install_roles
        from .schedules import install_shop_schedules

        post_migrate.connect(install_shop_schedules, sender=self, dispatch_uid="shop-schedules")
        post_migrate.connect(install_roles, dispatch_uid="shop-roles")
