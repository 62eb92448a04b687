"""The Allegro connector's options (the admin builds its form from this schema)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.connectors.base import ConfigField

HANDLING_TIMES = (
    ("PT0S", gettext_lazy("immediately")),
    ("PT24H", gettext_lazy("24 hours")),
    ("PT48H", gettext_lazy("2 days")),
    ("PT72H", gettext_lazy("3 days")),
    ("PT96H", gettext_lazy("4 days")),
    ("PT120H", gettext_lazy("5 days")),
    ("PT168H", gettext_lazy("7 days")),
    ("PT240H", gettext_lazy("10 days")),
    ("PT336H", gettext_lazy("14 days")),
    ("PT504H", gettext_lazy("21 days")),
    ("PT720H", gettext_lazy("30 days")),
)

# Allegro's product parameter "EAN (GTIN)".
EAN_PARAMETER_ID = "225693"

CONFIG_SCHEMA = (
    ConfigField(
        "environment",
        gettext_lazy("Allegro environment"),
        kind="choice",
        default="production",
        choices=(("production", gettext_lazy("production")), ("sandbox", gettext_lazy("sandbox (tests)"))),
    ),
    ConfigField(
        "client_id",
        gettext_lazy("Client ID"),
        required=True,
        help=gettext_lazy(
            "Of the application registered at apps.developer.allegro.pl (device flow). After saving, "
            "connect the seller account on the “Allegro connection” page (/admin/integrations/allegro/)."
        ),
    ),
    ConfigField("client_secret", gettext_lazy("Client Secret"), secret=True),
    ConfigField(
        "api_url",
        gettext_lazy("API address"),
        kind="url",
        help=gettext_lazy("Leave empty: chosen by the environment."),
    ),
    ConfigField(
        "auth_url",
        gettext_lazy("Authorisation address"),
        kind="url",
        help=gettext_lazy("Leave empty: chosen by the environment."),
    ),
    ConfigField(
        "category_map",
        gettext_lazy("Category mapping"),
        kind="json",
        default={},
        help=gettext_lazy(
            'Shop category slug or id → Allegro category id, e.g. {"shoes": "257931"}. A product '
            "uses its own category, else the nearest mapped parent."
        ),
    ),
    ConfigField(
        "default_category_id",
        gettext_lazy("Default Allegro category id"),
        help=gettext_lazy("For products whose category is not mapped; empty: such products are not listed."),
    ),
    ConfigField(
        "parameters",
        gettext_lazy("Fixed parameters"),
        kind="json",
        default={},
        help=gettext_lazy(
            'Allegro category id (or "*") → list of parameters sent with every offer of that category, '
            'e.g. {"*": [{"id": "11323", "valuesIds": ["11323_1"], "offer": true}]}; "offer": true '
            "marks an offer parameter (such as the condition), the others describe the product."
        ),
    ),
    ConfigField(
        "attribute_parameters",
        gettext_lazy("Attributes as parameters"),
        kind="json",
        default={},
        help=gettext_lazy('Shop attribute slug → Allegro parameter id, e.g. {"size": "236"}.'),
    ),
    ConfigField(
        "ean_parameter_id",
        gettext_lazy("EAN parameter id"),
        default=EAN_PARAMETER_ID,
        help=gettext_lazy("Allegro's “EAN (GTIN)” parameter; empty: the EAN is not sent as a parameter."),
    ),
    ConfigField("shipping_rates_id", gettext_lazy("Shipping rates id")),
    ConfigField("return_policy_id", gettext_lazy("Return policy id")),
    ConfigField("implied_warranty_id", gettext_lazy("Implied warranty (complaints) id")),
    ConfigField("warranty_id", gettext_lazy("Warranty id")),
    ConfigField(
        "handling_time",
        gettext_lazy("Handling time"),
        kind="choice",
        default="PT24H",
        choices=HANDLING_TIMES,
    ),
    ConfigField("location_city", gettext_lazy("Dispatch city")),
    ConfigField("location_post_code", gettext_lazy("Dispatch postal code")),
    ConfigField(
        "location_province",
        gettext_lazy("Dispatch province"),
        help=gettext_lazy("Allegro's code, e.g. MAZOWIECKIE."),
    ),
    ConfigField(
        "price_markup_percent",
        gettext_lazy("Price markup on Allegro (%)"),
        kind="decimal",
        default="0",
        min_value=-90,
        max_value=500,
    ),
    ConfigField(
        "stock_reserve",
        gettext_lazy("Units kept back from Allegro"),
        kind="int",
        default=0,
        min_value=0,
        help=gettext_lazy("Allegro is offered the available stock minus this many units."),
    ),
    ConfigField(
        "publish",
        gettext_lazy("Publish new offers at once"),
        kind="bool",
        default=True,
        help=gettext_lazy("Off: new offers stay inactive drafts on Allegro until you activate them there."),
    ),
    ConfigField(
        "import_orders",
        gettext_lazy("Import orders"),
        kind="bool",
        default=True,
    ),
)


def validate(settings_out: dict) -> None:
    errors: dict[str, str] = {}
    mapping = settings_out.get("category_map") or {}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) and str(v).strip().isdigit()
        for k, v in mapping.items()
    ):
        errors["category_map"] = _("Use an object of shop category → Allegro category id (digits).")
    default = (settings_out.get("default_category_id") or "").strip()
    if default and not default.isdigit():
        errors["default_category_id"] = _("An Allegro category id is a number.")
    params = settings_out.get("parameters") or {}
    if not isinstance(params, dict) or not all(
        isinstance(v, list) and all(isinstance(p, dict) and str(p.get("id") or "").strip() for p in v)
        for v in params.values()
    ):
        errors["parameters"] = _(
            "Use an object of Allegro category id → list of parameters, each with an id."
        )
    attrs = settings_out.get("attribute_parameters") or {}
    if not isinstance(attrs, dict) or not all(
        isinstance(v, str | int) and str(v).strip() for v in attrs.values()
    ):
        errors["attribute_parameters"] = _("Use an object of attribute slug → Allegro parameter id.")
    if errors:
        raise ValidationError(errors)
