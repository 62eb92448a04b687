"""Connector base class, capabilities, typed configuration schema and the registry.

A connector declares *what it can do* (:class:`Capability`), *what it needs to be told*
(``config_schema``: a tuple of :class:`ConfigField`), and implements the methods of its
capabilities. The framework does the rest: the admin builds a validated form from the schema
(secrets write-only), ``integrations.services`` runs it inside a locked :class:`SyncRun`, and a
django-celery-beat entry per (connector, direction) schedules it. See ``docs/integrations.md``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext as _

if TYPE_CHECKING:  # pragma: no cover
    from ..connector_client import ConnectorClient
    from ..models import ConnectorConfig, PurchaseOrder, SyncRun


class Capability(enum.StrEnum):
    PRODUCT_SOURCE = "product_source"
    STOCK_PRICE_SOURCE = "stock_price_source"
    ORDER_SINK = "order_sink"
    STOCK_PRICE_SINK = "stock_price_sink"
    FEED_EXPORTER = "feed_exporter"
    INVOICE_SINK = "invoice_sink"
    ORDER_SOURCE = "order_source"


# Which scheduled direction each capability gives a connector.
CAPABILITY_DIRECTIONS = {
    Capability.PRODUCT_SOURCE: "full",
    Capability.STOCK_PRICE_SOURCE: "stock",
    Capability.STOCK_PRICE_SINK: "push",
    Capability.FEED_EXPORTER: "export",
    Capability.ORDER_SOURCE: "orders",
}

KINDS = ("str", "text", "url", "email", "int", "decimal", "bool", "choice", "json")


@dataclass(frozen=True)
class ConfigField:
    """One option of a connector. ``secret`` options are stored encrypted and never shown back."""

    name: str
    label: str
    kind: str = "str"
    required: bool = False
    default: Any = None
    secret: bool = False
    help: str = ""
    choices: tuple[tuple[str, str], ...] | Callable[[], tuple[tuple[str, str], ...]] = ()
    min_value: Decimal | int | None = None
    max_value: Decimal | int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")

    def get_choices(self) -> tuple[tuple[str, str], ...]:
        return self.choices() if callable(self.choices) else self.choices

    def clean(self, value: Any) -> Any:
        """Convert ``value`` (from a form, JSON or the command line) to the stored, JSON-safe form."""
        empty = value is None or (isinstance(value, str) and not value.strip())
        if empty and self.kind not in ("bool", "json"):
            if self.required:
                raise ValidationError(_("%(field)s is required.") % {"field": self.label})
            return self.default if self.default is not None else ""
        if self.kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on", "tak")
            return bool(value) if value is not None else bool(self.default)
        if self.kind == "json":
            if empty:
                if self.required:
                    raise ValidationError(_("%(field)s is required.") % {"field": self.label})
                return self.default if self.default is not None else {}
            if isinstance(value, str):
                import json

                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise ValidationError(
                        _("%(field)s is not valid JSON: %(error)s") % {"field": self.label, "error": exc}
                    ) from exc
            return value
        if self.kind == "int":
            try:
                number = int(str(value).strip())
            except ValueError as exc:
                raise ValidationError(_("%(field)s must be a whole number.") % {"field": self.label}) from exc
            self._check_range(number)
            return number
        if self.kind == "decimal":
            try:
                number = Decimal(str(value).strip().replace(",", "."))
            except InvalidOperation as exc:
                raise ValidationError(_("%(field)s must be a number.") % {"field": self.label}) from exc
            if not number.is_finite():
                raise ValidationError(_("%(field)s must be a number.") % {"field": self.label})
            self._check_range(number)
            return str(number)
        text = str(value).strip()
        if self.kind == "url":
            URLValidator(schemes=["http", "https"])(text)
        elif self.kind == "email":
            EmailValidator()(text)
        elif self.kind == "choice":
            allowed = {c for c, _label in self.get_choices()}
            if text not in allowed:
                raise ValidationError(
                    _("%(value)s is not a valid choice for %(field)s.") % {"value": text, "field": self.label}
                )
        return text

    def _check_range(self, number) -> None:
        if self.min_value is not None and number < self.min_value:
            raise ValidationError(
                _("%(field)s must be at least %(min)s.") % {"field": self.label, "min": self.min_value}
            )
        if self.max_value is not None and number > self.max_value:
            raise ValidationError(
                _("%(field)s must be at most %(max)s.") % {"field": self.label, "max": self.max_value}
            )

    def typed(self, stored: Any) -> Any:
        """The stored value as the type the connector works with (Decimal for decimals)."""
        if stored in (None, "") and self.default is not None:
            stored = self.default
        if self.kind == "decimal":
            return Decimal(str(stored)) if stored not in (None, "") else None
        if self.kind == "int":
            return int(stored) if stored not in (None, "") else None
        if self.kind == "bool":
            return bool(stored)
        return stored


@dataclass
class SendResult:
    """What an order sink answers when it hands over a purchase order."""

    confirmed: bool = False
    external_reference: str = ""


@dataclass
class RunContext:
    """What a running connector gets besides its configuration."""

    run: SyncRun
    file_path: str | None = None
    progress: Callable[[int, int | None, str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self, done: int, total: int | None = None, label: str = "") -> None:
        if self.progress is not None:
            self.progress(done, total, label)


class Connector:
    """Base class. Subclasses set ``type``, ``label``, ``capabilities`` and ``config_schema`` and
    implement the method of each capability they declare:

    - product_source / stock_price_source: :meth:`run` with direction ``full`` / ``stock``
    - order_sink: :meth:`send_purchase_order`
    - stock_price_sink / feed_exporter: :meth:`run` with direction ``push`` / ``export``
    - invoice_sink: :meth:`send_invoice`
    - order_source: :meth:`run` with direction ``orders`` (marketplaces, see
      :mod:`integrations.channels.base`)

    :meth:`schedule_seconds` may give a direction a fixed interval instead of the default
    schedule; :meth:`test_connection` backs the admin's "Test the connection" action.
    """

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    config_schema: ClassVar[tuple[ConfigField, ...]] = ()

    def __init__(self, config: ConnectorConfig):
        self.config = config
        self.options = self.typed_options(config.settings)
        self._secrets: dict[str, str] | None = None

    # --- schema ---------------------------------------------------------------------------------

    @classmethod
    def fields(cls) -> dict[str, ConfigField]:
        return {f.name: f for f in cls.config_schema}

    @classmethod
    def directions(cls) -> list[str]:
        return [d for cap, d in CAPABILITY_DIRECTIONS.items() if cap in cls.capabilities]

    @classmethod
    def clean_settings(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate raw option values; returns (settings, secrets). Secrets absent or empty in
        ``raw`` are left out (meaning: keep the stored one). Raises a ValidationError per field."""
        settings_out: dict[str, Any] = {}
        secrets_out: dict[str, str] = {}
        errors: dict[str, list] = {}
        for f in cls.config_schema:
            try:
                if f.secret:
                    value = (raw.get(f.name) or "").strip()
                    if value:
                        secrets_out[f.name] = value
                    continue
                settings_out[f.name] = f.clean(raw.get(f.name))
            except ValidationError as exc:
                errors[f.name] = exc.messages
        if not errors:
            try:
                cls.validate_settings(settings_out)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    errors.update(
                        {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
                    )
                else:
                    errors["__all__"] = exc.messages
        if errors:
            raise ValidationError(errors)
        return settings_out, secrets_out

    @classmethod
    def validate_settings(cls, settings: dict[str, Any]) -> None:
        """Cross-field checks; raise ValidationError({field: message})."""

    @classmethod
    def typed_options(cls, stored: dict[str, Any]) -> dict[str, Any]:
        return {f.name: f.typed(stored.get(f.name)) for f in cls.config_schema if not f.secret}

    # --- runtime --------------------------------------------------------------------------------

    @property
    def secrets(self) -> dict[str, str]:
        if self._secrets is None:
            self._secrets = self.config.secrets
        return self._secrets

    def http_client(self, **kwargs) -> ConnectorClient:
        """The one HTTP client of this connector (rate limit and breaker keyed on the config)."""
        from ..connector_client import ConnectorClient

        kwargs.setdefault("name", f"connector-{self.config.pk}")
        return ConnectorClient(**kwargs)

    @classmethod
    def schedule_seconds(cls, config: ConnectorConfig, direction: str) -> int | None:
        """Run ``direction`` every N seconds instead of the default schedule (daily at
        ``full_sync_time``; ``stock`` every ``stock_sync_minutes``). None keeps the default; 0
        turns the schedule off."""
        return None

    def test_connection(self) -> str:
        """One cheap authenticated call; returns what the partner said (for the admin) or raises
        :class:`~integrations.connector_client.IntegrationHTTPError` / ``ValidationError``."""
        raise NotImplementedError(f"{self.type} has no connection test")

    def run(self, *, direction: str, context: RunContext) -> None:
        raise NotImplementedError(f"{self.type} cannot run {direction}")

    def send_purchase_order(self, purchase_order: PurchaseOrder) -> SendResult:
        raise NotImplementedError(f"{self.type} is not an order sink")

    def send_invoice(self, invoice) -> SendResult:
        raise NotImplementedError(f"{self.type} is not an invoice sink")


_registry: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector available under ``cls.type``."""
    if not cls.type:
        raise ValueError("a connector needs a type")
    unknown = set(cls.capabilities) - set(Capability)
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}")
    _registry[cls.type] = cls
    return cls


def registered() -> dict[str, type[Connector]]:
    return dict(_registry)


def get_connector_class(connector_type: str) -> type[Connector]:
    try:
        return _registry[connector_type]
    except KeyError:
        raise LookupError(f"No connector of type {connector_type!r} is installed.") from None
