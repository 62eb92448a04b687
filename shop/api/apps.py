from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "shop.api"
    label = "api"
    verbose_name = _("API and webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (OpenAPI extensions for our authentication classes)
        from .webhooks import handlers, schedules

        handlers.register()
        post_migrate.connect(schedules.install_api_schedules, sender=self, dispatch_uid="api-schedules")
