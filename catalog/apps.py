from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from shop import events

        from .alerts import handle_stock_changed

        events.register("stock.changed", "catalog.back_in_stock_alerts", handle_stock_changed)

        from .pagecache import connect_signals

        connect_signals()

        from django.db.backends.signals import connection_created

        connection_created.connect(set_search_threshold, dispatch_uid="catalog.set_search_threshold")


def set_search_threshold(sender, connection, **kwargs) -> None:
    """PostgreSQL: the typo tolerance of search (``%>``, which the trigram index serves) is a
    session setting; set it from CATALOG_SEARCH_TRIGRAM_THRESHOLD on every new connection."""
    if connection.vendor != "postgresql":
        return
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(settings.CATALOG_SEARCH_TRIGRAM_THRESHOLD)],
        )
