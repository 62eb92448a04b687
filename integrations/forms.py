"""The admin's connector form, built from the connector's typed configuration schema.

Secret options are write-only: the field is always empty, its help text shows the stored value
masked (``••••1234``), an empty submission keeps the stored secret and a "clear" box removes it.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .connectors.base import ConfigField, Connector, get_connector_class, registered
from .models import ConnectorConfig
from .wholesalers.profile import Profile

OPTION_PREFIX = "opt_"
CLEAR_PREFIX = "clear_"


def connector_choices() -> list[tuple[str, str]]:
    return [(key, str(cls.label)) for key, cls in sorted(registered().items())]


def _form_field(spec: ConfigField, masked: str) -> forms.Field:
    common: dict[str, Any] = {"label": spec.label, "required": False, "help_text": spec.help}
    if spec.secret:
        common["help_text"] = (
            _("Stored: %(masked)s. Leave empty to keep it.") % {"masked": masked} if masked else spec.help
        )
        return forms.CharField(
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}), **common
        )
    if spec.kind == "bool":
        return forms.BooleanField(**common)
    if spec.kind == "choice":
        return forms.ChoiceField(choices=[("", "---------"), *spec.get_choices()], **common)
    if spec.kind in ("json", "text"):
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), **common)
    return forms.CharField(**common)


class ConnectorConfigForm(forms.ModelForm):
    """Base form; :func:`connector_form` adds one field per schema option."""

    connector_class: type[Connector]
    profile_json = forms.CharField(
        label=gettext_lazy("Custom mapping profile (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 100, "spellcheck": "false"}),
        help_text=gettext_lazy("Empty: the built-in profile chosen below. See docs/integrations.md."),
    )

    class Meta:
        model = ConnectorConfig
        fields = [
            "store",
            "connector_type",
            "name",
            "is_active",
            "full_sync_time",
            "stock_sync_minutes",
            "feed_file",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connector_type"] = forms.ChoiceField(
            label=gettext_lazy("connector"), choices=connector_choices(), initial=self.connector_class.type
        )
        instance = self.instance
        stored = instance.settings if instance.pk else {}
        masked = instance.masked_secrets() if instance.pk else {}
        for spec in self.connector_class.config_schema:
            name = OPTION_PREFIX + spec.name
            if spec.secret:
                if masked.get(spec.name):
                    self.fields[name].help_text = _("Stored: %(masked)s. Leave empty to keep it.") % {
                        "masked": masked[spec.name]
                    }
                continue
            value = stored.get(spec.name, spec.default)
            if spec.kind == "json":
                value = json.dumps(value if value is not None else {}, ensure_ascii=False, indent=2)
            self.initial.setdefault(name, value)
        if instance.pk and instance.profile:
            self.initial.setdefault(
                "profile_json", json.dumps(instance.profile, ensure_ascii=False, indent=2)
            )

    def clean_profile_json(self) -> dict:
        text = (self.cleaned_data.get("profile_json") or "").strip()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(_("Not valid JSON: %(e)s") % {"e": exc}) from exc
        Profile.from_dict(data)  # raises ValidationError listing every problem
        return data

    def clean(self):
        cleaned = super().clean()
        raw = {
            spec.name: cleaned.get(OPTION_PREFIX + spec.name) for spec in self.connector_class.config_schema
        }
        try:
            self.settings_out, _secrets = self.connector_class.clean_settings(raw)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                target = OPTION_PREFIX + field_name if OPTION_PREFIX + field_name in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        self.raw_settings = raw
        self.clear_secrets = tuple(
            spec.name
            for spec in self.connector_class.config_schema
            if spec.secret and cleaned.get(CLEAR_PREFIX + spec.name)
        )
        return cleaned


def connector_form(connector_type: str | None) -> type[ConnectorConfigForm]:
    """The admin form class for one connector type (the first registered one by default)."""
    try:
        cls = get_connector_class(connector_type) if connector_type else None
    except LookupError:
        cls = None
    if cls is None:
        cls = next(iter(sorted(registered().items())))[1]
    attrs: dict[str, Any] = {"connector_class": cls}
    for spec in cls.config_schema:
        attrs[OPTION_PREFIX + spec.name] = _form_field(spec, "")
        if spec.secret:
            attrs[CLEAR_PREFIX + spec.name] = forms.BooleanField(
                label=_("Remove the stored %(label)s") % {"label": spec.label}, required=False
            )
    return type(f"{cls.__name__}Form", (ConnectorConfigForm,), attrs)


def option_field_names(form_class: type[ConnectorConfigForm]) -> list[str]:
    names = []
    for spec in form_class.connector_class.config_schema:
        names.append(OPTION_PREFIX + spec.name)
        if spec.secret:
            names.append(CLEAR_PREFIX + spec.name)
    return names
