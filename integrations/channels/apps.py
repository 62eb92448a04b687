from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "integrations.channels"
    label = "integrations_channels"
    verbose_name = _("Sales channels")
