from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "integrations.marketing"
    label = "integrations_marketing"
    verbose_name = _("Marketing tags")
