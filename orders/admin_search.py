"""Admin glue of the order search (the search itself is the selector
:mod:`orders.selectors.search`, which the merchant API uses too).

:class:`OrderSearchFilter` is a list filter that renders the advanced form in the changelist
sidebar and applies it (its parameters are consumed, so Django's changelist keeps them in
pagination links and never rejects them); :class:`OrderSearchMixin` answers the admin search box
with the same free-text condition. Query counts of the changelist do not grow with the rows shown.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from .selectors.search import OrderSearchForm, free_text_condition, search_orders

# --- admin glue ---------------------------------------------------------------------------------------


class OrderSearchFilter(admin.ListFilter):
    """The advanced search form in the changelist sidebar; consumes its ``s-*`` parameters."""

    title = _("Advanced search")
    template = "orders/admin/order_search_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        data = {}
        for name in OrderSearchForm.parameter_names():
            if name in params:
                value = params.pop(name)
                data[name] = value if isinstance(value, list) else [value]
        self.used = bool(data)
        self.form = OrderSearchForm(MultiValueDict(data) if data else None)
        self.zone = getattr(getattr(request, "store", None), "zone", None)

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return OrderSearchForm.parameter_names()

    def choices(self, changelist):
        # The template renders the form; the "clear" link drops every s-* parameter.
        yield {
            "form": self.form,
            "used": self.used,
            "clear_url": changelist.get_query_string(remove=self.expected_parameters()),
            # Keep the other filters, the search box and the sort order when the form is sent.
            "hidden": [
                (k, v)
                for k, values in changelist.filter_params.items()
                if k not in self.expected_parameters() and k not in ("p", "e")
                for v in values
            ],
        }

    def queryset(self, request, queryset):
        if self.form.is_bound and self.form.is_valid():
            return search_orders(queryset, self.form.cleaned_data, zone=self.zone)
        return queryset


class OrderSearchMixin:
    """For ``OrderAdmin``: the admin's search box uses the index-backed free-text search, and
    the changelist loads what it shows in one query."""

    search_fields = ("number",)  # the box is shown; get_search_results does the work
    list_select_related = ("shipping_address", "billing_address")
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not free

    def get_search_results(self, request, queryset, search_term):
        condition = free_text_condition(search_term, queryset)
        if condition is None:
            return queryset, False
        return queryset.filter(condition), False
