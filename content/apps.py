from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Pages and footer")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import terms

        from . import signals
        from .pages import Terms

        terms.register(Terms())  # place_order checks and records the accepted terms through it
        signals.connect()
