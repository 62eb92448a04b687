from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    name = "integrations.accounting"
    label = "integrations_accounting"
    verbose_name = _("Accounting and POS")
