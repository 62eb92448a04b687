"""Message templates: a restricted Django template engine, the documented variables, validation.

Merchant-written templates (StepTemplate) are compiled by the shop's sandboxed engine
(:mod:`shop.sandbox_templates`): no template loaders (no ``{% include %}`` / ``{% extends %}``
of files) and only the ``i18n``, ``l10n`` and ``humanize`` libraries, plus two built-in filters: ``money`` (the shop's one money format,
``{{ line.unit_price|money:currency }}`` -> ``39,00 zł``) and ``plural`` (the form for a count in
the message's language, ``{{ n|plural:"sztuka,sztuki,sztuk" }}``). On save they are
test-rendered against :func:`sample_context` with
``string_if_invalid`` set to a marker, so an unknown variable or attribute is an admin error
rather than a blank in a shopper's inbox.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shop import sandbox_templates as sandbox

# The sandboxed engine and its ``money`` and ``plural`` filters are the shop's (one copy for every
# merchant-written text); re-exported here for the callers that know them by this module.
ENGINE = sandbox.ENGINE
STRICT_ENGINE = sandbox.STRICT_ENGINE
money = sandbox.money
plural = sandbox.plural
plural_index = sandbox.plural_index


# ``greeting_name`` of a shopper whose first name is unknown, in a language with no neutral word
# for it (Polish): the name and the space or comma around it are left out of the rendered text,
# so "Cześć {{ greeting_name }}!" reads "Cześć!" and "{{ greeting_name }}, Twój koszyk" reads
# "Twój koszyk". New templates use ``greeting`` (a whole greeting) instead.
BLANK_NAME = "\x01"
_BLANK_BEFORE_PUNCT = re.compile("[ \u00a0]*\x01[ \u00a0]*(?=[!?.,;:])")
_BLANK_LEADING = re.compile("(^|>)([ \u00a0]*)\x01[ \u00a0]*[,;:]?[ \u00a0]*")


def _tidy_blank_name(output: str) -> str:
    if BLANK_NAME not in output:
        return output
    output = _BLANK_LEADING.sub(lambda m: m.group(1) + m.group(2), output)
    output = _BLANK_BEFORE_PUNCT.sub("", output)
    return output.replace(BLANK_NAME, "")


# What a template may use. docs/recovery.md documents each one.
VARIABLES = {
    "store": "store: name, url",
    "first_name": "the shopper's first name, or empty",
    "greeting": "a whole greeting: 'Dzień dobry, Anna!' or 'Dzień dobry!' when the name is unknown",
    "greeting_name": "first name, or a neutral word where the language has one (English 'there'); "
    "in Polish left out with the space or comma around it",
    "lines": "cart lines: name, variant_name, quantity, image_url, url, unit_price, "
    "price_when_abandoned, price_dropped, price_drop, line_total, available, sold_out, units_left",
    "available_lines": "lines that can still be bought",
    "sold_out_lines": "lines that sold out since abandonment",
    "has_sold_out": "true when at least one line sold out",
    "all_sold_out": "true when nothing in the cart can be bought",
    "has_price_drop": "true when any price fell since abandonment",
    "cart_total": "total of available lines at current prices",
    "currency": "the store currency, e.g. PLN",
    "coupon": "the step's coupon or empty: code, label, expires_at",
    "recommendations": "recommended products: name, url, image_url, price",
    "social_proof": "empty, or count and product_name of real orders in the last days",
    "restore_url": "the link that restores the cart",
    "unsubscribe_url": "one-click unsubscribe page",
    "step_position": "1 for the first message, 2 for the second, ...",
}


def sample_context(
    *, currency: str = "PLN", store_name: str = "Sklep", store_url: str = "https://sklep.example.pl/"
):
    """A context with every documented variable, used for validation and the admin preview."""
    now = timezone.now()
    lines = [
        {
            "name": "Kubek ceramiczny",
            "variant_name": "niebieski",
            "quantity": 2,
            "image_url": "https://sklep.example.pl/media/products/1/kubek.jpg",
            "url": store_url + "p/kubek/",
            "unit_price": Decimal("39.00"),
            "price_when_abandoned": Decimal("49.00"),
            "price_dropped": True,
            "price_drop": Decimal("10.00"),
            "line_total": Decimal("78.00"),
            "available": True,
            "sold_out": False,
            "units_left": 2,
        },
        {
            "name": "Czajnik",
            "variant_name": "",
            "quantity": 1,
            "image_url": "",
            "url": store_url + "p/czajnik/",
            "unit_price": Decimal("129.00"),
            "price_when_abandoned": Decimal("129.00"),
            "price_dropped": False,
            "price_drop": Decimal("0.00"),
            "line_total": Decimal("129.00"),
            "available": False,
            "sold_out": True,
            "units_left": None,
        },
    ]
    return {
        "store": {"name": store_name, "url": store_url},
        "first_name": "Anna",
        "greeting": lazy(greeting, str)("Anna"),  # in the language the preview renders in
        "greeting_name": "Anna",
        "lines": lines,
        "available_lines": lines[:1],
        "sold_out_lines": lines[1:],
        "has_sold_out": True,
        "all_sold_out": False,
        "has_price_drop": True,
        "cart_total": Decimal("78.00"),
        "currency": currency,
        "coupon": {"code": "WROC-AB12CD", "label": "-10%", "expires_at": now + timedelta(days=3)},
        "recommendations": [
            {"name": "Talerz", "url": store_url + "p/talerz/", "image_url": "", "price": Decimal("25.00")}
        ],
        "social_proof": {"count": 12, "product_name": "Kubek ceramiczny"},
        "restore_url": store_url + "r/restore/sample/",
        "unsubscribe_url": store_url + "r/u/sample/",
        "step_position": 1,
    }


def _check_one(field: str, source: str, *, autoescape: bool) -> str | None:
    return sandbox.check(source, sample_context(), autoescape=autoescape, variables=VARIABLES)


def validate_template_fields(*, subject: str, html_body: str, text_body: str, channel: str) -> None:
    errors = {}
    for field, source, autoescape in (
        ("subject", subject, False),
        ("html_body", html_body, True),
        ("text_body", text_body, False),
    ):
        problem = _check_one(field, source, autoescape=autoescape)
        if problem:
            errors[field] = problem
    if channel == "email" and not (html_body or "").strip():
        errors.setdefault("html_body", _("An email needs an HTML body."))
    if not (text_body or "").strip():
        errors.setdefault("text_body", _("A plain-text body is required."))
    if errors:
        raise ValidationError(errors)


def render(source: str, context: dict, *, autoescape: bool) -> str:
    return _tidy_blank_name(sandbox.render(source, context, autoescape=autoescape))


def greeting(first_name: str) -> str:
    """The opening line in the active language, never guessing a name or a gender."""
    if first_name:
        return _("Hello %(name)s!") % {"name": first_name}
    return _("Hello!")


def greeting_name(first_name: str) -> str:
    """``first_name``, else the language's neutral word ("there"), else :data:`BLANK_NAME`."""
    if first_name:
        return first_name
    word = pgettext(
        "greeting_name when the first name is unknown; '-' when the language has no neutral word",
        "there",
    )
    return BLANK_NAME if word.strip() in ("", "-") else word
