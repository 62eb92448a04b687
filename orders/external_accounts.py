"""One plug-in pattern for the outside services a store has an account at: payment gateways
(``orders.payments``) and carriers (``orders.carriers``).

A provider class declares, in its own module:

- ``code``: what the account's kind field stores ("przelewy24", "inpost");
- ``account_fields``: the :class:`AccountField` options a merchant fills in (public ones are
  stored in the account's ``config``, secret ones encrypted), with their own validators;
- ``account_errors(data)``: rules that span several fields (optional);
- ``url_settings``: the names of the settings holding its (production, sandbox) base URL;
- ``test_connection(account)``: a check of the stored credentials, answering an object with
  ``ok`` and ``message``.

It registers itself with the ``@register`` decorator of its package's :class:`ProviderRegistry`;
the registry imports every module of the package on first use, so a new gateway or carrier is one
new module. :func:`account_form` builds the admin form (fields, validation, write-only secrets)
from those declarations, and :func:`test_connection` records every check on the account.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

SECRET_WIDGET_ATTRS = {"autocomplete": "new-password"}


@dataclass(frozen=True)
class AccountField:
    """One option of a provider's account. ``validators`` take the typed (stripped) value and
    return the value to store or raise ``ValidationError``; they run only on a non-empty value."""

    name: str
    label: Any
    secret: bool = False
    required: bool = False
    kind: str = "str"  # "str" or "bool"
    choices: tuple = ()
    max_length: int | None = None
    help_text: Any = ""
    default: Any = None  # a value or a callable giving it (for the form's initial value)
    validators: tuple[Callable[[str], Any], ...] = ()

    def __post_init__(self):
        if self.kind not in ("str", "bool"):
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.secret and self.kind != "str":
            raise ValueError("a secret is a text value")

    def initial(self, config: dict) -> Any:
        if self.name in config:
            return config[self.name]
        default = self.default() if callable(self.default) else self.default
        if self.kind == "bool":
            return bool(default)
        return "" if default is None else default

    def form_field(self) -> forms.Field:
        label = lazy(capfirst, str)(self.label)  # as Django shows a model field's name
        common = {"label": label, "required": False, "help_text": self.help_text}
        if self.kind == "bool":
            return forms.BooleanField(**common)
        if self.choices:
            return forms.ChoiceField(choices=self.choices, **common)
        widget = forms.PasswordInput(render_value=False, attrs=SECRET_WIDGET_ATTRS) if self.secret else None
        return forms.CharField(max_length=self.max_length, widget=widget, strip=True, **common)

    def clean(self, value: Any) -> Any:
        if self.kind == "bool":
            return bool(value)
        value = str(value or "").strip()
        for validator in self.validators if value else ():
            value = validator(value)
        return value


def digits_only(message) -> Callable[[str], str]:
    """A validator: the value is a whole number written in digits (an id at the provider)."""

    def validate(value: str) -> str:
        if not (value.isascii() and value.isdigit()):
            raise ValidationError(message)
        return value

    return validate


class ProviderRegistry:
    """The providers of one kind (gateways, carriers), registered by their modules."""

    def __init__(self, package: str):
        self.package = package
        self._classes: dict[str, type] = {}
        self._discovered = False

    def register(self, cls: type) -> type:
        if not cls.code:
            raise ValueError(f"{cls.__name__} has no code")
        self._classes[cls.code] = cls
        return cls

    def unregister(self, code: str) -> None:
        self._classes.pop(code, None)

    def _discover(self) -> None:
        if self._discovered:
            return
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{self.package}.{module.name}")
        self._discovered = True

    def classes(self) -> dict[str, type]:
        self._discover()
        return dict(self._classes)

    def get(self, code: str):
        """A fresh instance of the provider registered under ``code``; ``KeyError`` if none is."""
        return self.classes()[code]()

    def all(self) -> list:
        return [cls() for cls in self.classes().values()]

    def with_accounts(self) -> list:
        """The providers a store keeps an account at (those declaring ``account_fields``)."""
        return [p for p in self.all() if p.account_fields]


class AccountProvider:
    """What a provider with store accounts declares (mixed into the payment and carrier bases)."""

    code: str = ""
    label: Any = ""
    account_fields: tuple[AccountField, ...] = ()
    url_settings: tuple[str, str] = ("", "")  # settings naming the (production, sandbox) base URL

    def account_errors(self, data: dict) -> dict[str, Any]:
        """Rules spanning several fields of the account form: ``{field name: message}``."""
        return {}

    def test_connection(self, account):
        raise NotImplementedError


def test_connection(account, provider):
    """Check ``account``'s credentials with ``provider`` and record the outcome on the account."""
    check = provider.test_connection(account)
    record_check(account, ok=check.ok, message=str(check.message))
    return check


test_connection.__test__ = False  # not a pytest test when imported into a test module


def record_check(account, *, ok: bool, message: str) -> None:
    account.last_checked_at = timezone.now()
    account.last_check_ok = ok
    account.last_check_message = message[:255]
    account.save(update_fields=["last_checked_at", "last_check_ok", "last_check_message"])


# --- the one account form ---------------------------------------------------------------------------


def _declarations(providers: Iterable) -> dict[str, AccountField]:
    """Every field name any provider uses, with the first declaration of it (for the form field)."""
    fields: dict[str, AccountField] = {}
    for provider in providers:
        for field in provider.account_fields:
            fields.setdefault(field.name, field)
    return fields


def credential_field_names(registry: ProviderRegistry) -> list[str]:
    """The form's provider fields in display order: public text, switches, secrets."""
    fields = _declarations(registry.with_accounts()).values()
    public = sorted(f.name for f in fields if not f.secret and f.kind == "str")
    switches = sorted(f.name for f in fields if f.kind == "bool")
    secret = sorted(f.name for f in fields if f.secret)
    return [*public, *switches, *secret]


class ExternalAccountForm(forms.ModelForm):
    """Base of the built forms: the selected provider's fields are required and validated as it
    declares them; public values go to ``config``, secrets are encrypted and never shown back
    (an empty secret keeps the stored one)."""

    registry: ProviderRegistry
    required_message = _("This field is required.")  # Django's own message (translated there)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.providers = {p.code: p for p in self.registry.with_accounts()}
        self.declared = _declarations(self.providers.values())
        kind = self.fields[self._meta.model.KIND_FIELD]
        labels = dict(kind.choices)
        kind.choices = [("", "---------")] + [
            (code, p.label or labels.get(code, code)) for code, p in self.providers.items()
        ]
        config = self.instance.config or {}
        masked = self.instance.masked_secrets() if self.instance.pk else {}
        names = dict(kind.choices)
        for field in self.declared.values():
            # Every provider's fields share one form: say whose field each one is.
            users = [
                str(names[code])
                for code, p in self.providers.items()
                if field.name in {f.name for f in p.account_fields}
            ]
            if users and len(users) < len(self.providers):
                used_by = _("Used by: %(providers)s.") % {"providers": ", ".join(users)}
                help_text = self.fields[field.name].help_text
                self.fields[field.name].help_text = f"{help_text} {used_by}" if help_text else used_by
            if field.secret:
                if masked.get(field.name):
                    stored = _("Stored: %(masked)s. Leave empty to keep it.") % {"masked": masked[field.name]}
                    help_text = self.fields[field.name].help_text
                    self.fields[field.name].help_text = f"{stored} {help_text}" if help_text else stored
            else:
                self.fields[field.name].initial = field.initial(config)

    def _get_validation_exclusions(self):
        # Which codes are valid is the registry's answer (checked by the form field above); the
        # model field's choices are the labels of the built-in providers only.
        exclusions = super()._get_validation_exclusions()
        exclusions.add(self._meta.model.KIND_FIELD)
        return exclusions

    def clean(self):
        data = super().clean()
        provider = self.providers.get(data.get(self._meta.model.KIND_FIELD) or "")
        if provider is None:
            return data
        stored = (
            self.instance.masked_secrets() if self.instance.pk and self.instance.secrets_encrypted else {}
        )
        own = {f.name: f for f in provider.account_fields}
        for name, declared in self.declared.items():
            if name not in self.cleaned_data:
                continue  # the form field itself refused the value
            # A value typed into a field this provider does not use is still checked (with the
            # declaration the field was built from), so a typo is never silently accepted.
            field = own.get(name, declared)
            try:
                data[name] = field.clean(data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            missing = field.kind == "str" and not data[name] and not (field.secret and stored.get(name))
            if name in own and field.required and missing:
                self.add_error(name, self.required_message)
        for name, message in provider.account_errors(data).items():
            self.add_error(name, message)
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        provider = self.providers[self.cleaned_data[self._meta.model.KIND_FIELD]]
        public = [f for f in provider.account_fields if not f.secret]
        account.config = {
            f.name: self.cleaned_data.get(f.name)
            for f in public
            if f.kind == "bool" or self.cleaned_data.get(f.name)
        }
        account.set_secrets(
            **{f.name: self.cleaned_data.get(f.name) or "" for f in provider.account_fields if f.secret}
        )
        if commit:
            account.save()
        return account


def account_form(model, *, fields: list[str], **attrs) -> type[ExternalAccountForm]:
    """The account form of ``model`` (an ``ExternalAccount``) with one form field per option the
    providers of its registry declare (built per call, so a provider registered later gets its
    fields)."""
    registry = model.registry()
    declared = {name: field.form_field() for name, field in _declarations(registry.with_accounts()).items()}
    meta = type("Meta", (), {"model": model, "fields": fields})
    return type(
        f"{model.__name__}Form",
        (ExternalAccountForm,),
        {**declared, **attrs, "Meta": meta, "registry": registry},
    )


class ExternalAccountAdminMixin:
    """For the ``ModelAdmin`` of an account model: the form is built from the registry on each
    request, and "Test connection" checks and records through :func:`test_connection`."""

    model_fields: list[str]
    form_attrs: dict = {}

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = account_form(self.model, fields=self.model_fields, **self.form_attrs)
        return super().get_form(request, obj, **kwargs)

    def credential_fields(self) -> list[str]:
        return credential_field_names(self.model.registry())

    def check_connection(self, account):
        return test_connection(account, account.provider_backend())
