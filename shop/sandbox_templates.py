"""A restricted Django template engine for text merchants write (reminders, order e-mails).

No template loaders (no ``{% include %}`` / ``{% extends %}`` of files), only the ``i18n``,
``l10n`` and ``humanize`` libraries, plus two built-in filters: ``money`` (the shop's one money
format, ``{{ amount|money:currency }}`` -> ``39,00 zł``) and ``plural`` (the form for a count in
the active language, ``{{ n|plural:"sztuka,sztuki,sztuk" }}``). :func:`check` test-renders a text
against a sample context with ``string_if_invalid`` set to a marker, so an unknown variable, a
syntax error or a forbidden ``{% load %}`` is an admin error rather than a blank or a crash in a
shopper's inbox. Used by :mod:`recovery.templating` and :mod:`orders.email_templates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.template import Context, Engine, Library, TemplateDoesNotExist, TemplateSyntaxError
from django.utils.translation import get_language, trans_real
from django.utils.translation import gettext as _

from shop.money import format_money

_MARK = "\x00UNKNOWN:%s\x00"
_MARK_RE = re.compile("\x00UNKNOWN:(.*?)\x00")

LIBRARIES = {
    "i18n": "django.templatetags.i18n",
    "l10n": "django.templatetags.l10n",
    "humanize": "django.contrib.humanize.templatetags.humanize",
}

# Filters every merchant template has without {% load %} (this module is the engine's builtin).
register = Library()


@register.filter
def money(value, currency: str = "PLN") -> str:
    """``{{ amount|money:currency }}`` -> ``"1 234,50 zł"``: the format of the shop's pages and
    order e-mails (:func:`shop.money.format_money`)."""
    return format_money(value, currency)


def plural_index(count: int) -> int:
    """Which plural form ``count`` takes in the active language (its catalog's Plural-Forms):
    Polish 1 -> 0, 2-4 and 22-24 -> 1, 5-21 and 25-31 -> 2; English 1 -> 0, else 1."""
    translation = trans_real.translation(get_language() or settings.LANGUAGE_CODE)
    rule = getattr(translation, "plural", None)
    return int(rule(count)) if rule else int(count != 1)


@register.filter
def plural(count, forms: str) -> str:
    """``{{ n|plural:"sztuka,sztuki,sztuk" }}`` -> the form for ``n`` in the active language
    (give as many forms as the language has: Polish three, English two)."""
    try:
        n = abs(int(count))
    except (TypeError, ValueError):
        return ""
    options = [form.strip() for form in str(forms).split(",")]
    return options[min(plural_index(n), len(options) - 1)]


def _engine(strict: bool) -> Engine:
    return Engine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries=LIBRARIES,
        builtins=["shop.sandbox_templates"],
        string_if_invalid=_MARK if strict else "",
        autoescape=True,
    )


STRICT_ENGINE = _engine(strict=True)
ENGINE = _engine(strict=False)


_NOT_A_LIBRARY = re.compile(r"'(?P<name>[^']*)' is not a registered tag library")
_UNKNOWN_TAG = re.compile(r"(?:Invalid block|Unclosed) tag on line (?P<line>\d+): '(?P<tag>[^']*)'")
_UNKNOWN_FILTER = re.compile(r"Invalid filter: '(?P<name>[^']*)'")


def _explain(exc: TemplateSyntaxError) -> str:
    """Django's English syntax errors a merchant meets most, in the merchant's language."""
    text = str(exc)
    if match := _NOT_A_LIBRARY.search(text):
        return _("“%(name)s” cannot be loaded; {%% load %%} accepts only: %(libraries)s.") % {
            "name": match["name"],
            "libraries": ", ".join(sorted(LIBRARIES)),
        }
    if match := _UNKNOWN_TAG.search(text):
        return _("unknown or unclosed tag “%(tag)s” on line %(line)s.") % {
            "tag": match["tag"],
            "line": match["line"],
        }
    if match := _UNKNOWN_FILTER.search(text):
        return _("unknown filter “%(name)s”.") % {"name": match["name"]}
    return text


def check(source: str, context: dict, *, autoescape: bool, variables: Iterable[str]) -> str | None:
    """Why ``source`` cannot be used (a message for the merchant), or ``None``: it must compile,
    render ``context`` and use only known variables (``variables`` are listed in the message)."""
    if not source:
        return None
    try:
        template = STRICT_ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        return _("Template error: %(error)s") % {"error": _explain(exc)}
    try:
        output = template.render(Context(context, autoescape=autoescape))
    except TemplateDoesNotExist as exc:
        return _("Template error: other templates cannot be included or extended (%(name)s).") % {"name": exc}
    except Exception as exc:  # a filter raising on the sample data is still the template's fault
        return _("The template fails when rendered: %(error)s") % {"error": exc}
    unknown = sorted(set(_MARK_RE.findall(output)))
    if unknown:
        return _("Unknown variable: %(names)s. Available: %(available)s.") % {
            "names": ", ".join(unknown),
            "available": ", ".join(sorted(variables)),
        }
    return None


def render(source: str, context: dict, *, autoescape: bool) -> str:
    return ENGINE.from_string(source).render(Context(context, autoescape=autoescape))
