"""Small shared pieces of the orders data model."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shop import crypto
from shop.money import round_money

MONEY = {"max_digits": 12, "decimal_places": 2}
CENT = Decimal("0.01")


# The one rounding rule (half-up to 0.01), under the name the orders code imports.
money = round_money


class ExternalAccount(models.Model):
    """A store's credentials at an outside service (payment gateway, carrier): public options in
    ``config``, secrets Fernet-encrypted under ``SECRETS_PURPOSE``, a sandbox/production base URL
    from the settings its provider class names (``url_settings``), and the last connection test
    (recorded by ``orders.external_accounts.record_check``). ``registry()`` gives the
    ``ProviderRegistry`` of the account's kind (``orders.external_accounts``)."""

    SECRETS_PURPOSE: str = ""
    KIND_FIELD: str = ""  # the field naming the service ("provider", "carrier")

    is_active = models.BooleanField(_("active"), default=True)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    secrets_encrypted = models.TextField(_("secrets (encrypted)"), blank=True, editable=False)
    last_checked_at = models.DateTimeField(_("last connection test"), null=True, blank=True, editable=False)
    last_check_ok = models.BooleanField(_("connection works"), null=True, editable=False)
    last_check_message = models.CharField(
        _("connection test result"), max_length=255, blank=True, editable=False
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        mode = _("sandbox") if self.is_sandbox else _("production")
        return f"{getattr(self, f'get_{self.KIND_FIELD}_display')()} ({mode})"

    @staticmethod
    def registry():
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        return crypto.decrypt_secrets(self.secrets_encrypted, purpose=self.SECRETS_PURPOSE)

    def secret(self, name: str) -> str:
        return self.secrets().get(name, "")

    def set_secrets(self, **values: str) -> None:
        """Store the given secrets encrypted; an empty value keeps the one already stored."""
        current = self.secrets() if self.secrets_encrypted else {}
        current.update({k: v for k, v in values.items() if v})
        self.secrets_encrypted = crypto.encrypt_secrets(current, purpose=self.SECRETS_PURPOSE)

    def masked_secrets(self) -> dict[str, str]:
        try:
            return {k: crypto.mask(v) for k, v in self.secrets().items()}
        except crypto.SecretsUnreadable:
            return {}

    def get(self, name: str, default: str = "") -> str:
        return str(self.config.get(name, default) or default)

    def provider_backend(self):
        """The provider (gateway, carrier) this account is at."""
        return self.registry().get(getattr(self, self.KIND_FIELD))

    @property
    def base_url(self) -> str:
        production, sandbox = self.registry().classes()[getattr(self, self.KIND_FIELD)].url_settings
        return getattr(settings, sandbox if self.is_sandbox else production).rstrip("/")
