from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from shop import events

        from .alerts import handle_stock_changed

        events.register("stock.changed", "catalog.back_in_stock_alerts", handle_stock_changed)
