"""Storefront forms: listing filters, search and the back-in-stock alert.

Listing parameters come from URLs anyone can edit, so every one is parsed defensively: a bad
value is dropped with a message and the rest of the filters still apply (never a 500).
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .selectors import SORTS, ListingFilters

ATTR_PARAM = re.compile(r"^([a-z0-9-]{1,80}):([a-z0-9-]{1,80})$")
MAX_PRICE = Decimal("9999999999.99")


class ListingFilterForm(forms.Form):
    price_min = forms.DecimalField(
        label=gettext_lazy("Price from"), required=False, min_value=0, max_value=MAX_PRICE, decimal_places=2
    )
    price_max = forms.DecimalField(
        label=gettext_lazy("Price to"), required=False, min_value=0, max_value=MAX_PRICE, decimal_places=2
    )
    available = forms.BooleanField(label=gettext_lazy("Available only"), required=False)
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort by"),
        required=False,
        choices=[
            ("popularity", gettext_lazy("Popularity")),
            ("newest", gettext_lazy("Newest")),
            ("price", gettext_lazy("Price: low to high")),
            ("price_desc", gettext_lazy("Price: high to low")),
            ("name", gettext_lazy("Name")),
        ],
    )

    def __init__(self, data, *, default_sort: str = "popularity", extra_sorts=None):
        super().__init__(data)
        self.default_sort = default_sort
        if extra_sorts:
            self.fields["sort"].choices = [*extra_sorts, *self.fields["sort"].choices]
        self.attr_values: list[str] = data.getlist("attr")[:20] if hasattr(data, "getlist") else []
        self.problems: list[str] = []

    def filters(self) -> ListingFilters:
        """The valid part of the request, with ``problems`` listing what was ignored."""
        self.is_valid()
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else name
            self.problems.append(
                _("Ignored filter “%(field)s”: %(error)s") % {"field": label, "error": errors[0]}
            )
        data = self.cleaned_data
        price_min, price_max = data.get("price_min"), data.get("price_max")
        if price_min is not None and price_max is not None and price_min > price_max:
            price_min, price_max = price_max, price_min
        attrs: dict[str, list[str]] = {}
        bad_attr = False
        for raw in self.attr_values:
            match = ATTR_PARAM.match(raw or "")
            if match is None:
                bad_attr = True
                continue
            attrs.setdefault(match.group(1), []).append(match.group(2))
        if bad_attr:
            self.problems.append(_("Ignored an attribute filter that is not valid."))
        sort = data.get("sort") or self.default_sort
        valid_sorts = {c for c, _label in self.fields["sort"].choices}
        if sort not in valid_sorts or (sort not in SORTS and sort != "relevance"):
            sort = self.default_sort
        return ListingFilters(
            price_min=price_min,
            price_max=price_max,
            attrs=attrs,
            available_only=bool(data.get("available")),
            sort=sort,
        )

    def selected_attr(self) -> set[str]:
        return {a for a in self.attr_values if ATTR_PARAM.match(a or "")}


def parse_page(raw) -> int:
    """``?page=`` as a positive int; garbage means page 1 (the paginator clamps the top)."""
    try:
        page = int(str(raw)[:9])
    except (TypeError, ValueError):
        return 1
    return max(page, 1)


def clean_query(raw: str | None) -> tuple[str, bool]:
    """The search phrase, trimmed to the maximum length; the flag says it was shortened."""
    query = " ".join((raw or "").split())
    limit = settings.CATALOG_SEARCH_MAX_LENGTH
    return query[:limit], len(query) > limit


class BackInStockForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Your email address"), max_length=254)
    variant = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
