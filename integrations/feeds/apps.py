from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    name = "integrations.feeds"
    label = "integrations_feeds"
    verbose_name = _("Product feeds")
