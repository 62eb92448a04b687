"""Report parameters: the admin pages, the background jobs and the API validate through these.

Every form takes the store it reports on (``store=``) and refuses what does not belong to it
(products, shipping methods, warehouses of another store). ``to_params()`` gives the cleaned
parameters as canonical JSON-safe data: what a ``ReportJob`` stores and hashes, and what the
worker validates again before building the file.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Warehouse
from orders.models import Order, ShippingMethod

from .periods import DAY, MONTH, WEEK
from .selectors import PAID_STATUSES, OrderFilters

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DELIMITERS = [(";", _("semicolon ; (Polish Excel)")), (",", _("comma ,"))]


def _ids(queryset) -> list[int]:
    return sorted(obj.pk for obj in queryset)


class ReportForm(forms.Form):
    """Base: the store, and helpers to start from defaults when nothing was submitted."""

    def __init__(self, data=None, *args, store, **kwargs):
        self.store = store
        if isinstance(data, dict) and not isinstance(data, QueryDict):
            data = _as_querydict(data)
        super().__init__(data, *args, **kwargs)

    @classmethod
    def defaults(cls, store) -> dict:
        return {}

    @classmethod
    def bound(cls, data, *, store):
        """A bound form: ``data`` when anything of this form was submitted, else the defaults."""
        if data is not None and any(name in data for name in cls.base_fields):
            return cls(data, store=store)
        return cls(cls.defaults(store), store=store)


def _as_querydict(data: dict) -> QueryDict:
    qd = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list | tuple):
            qd.setlist(key, [str(v) for v in value])
        elif isinstance(value, bool):
            if value:
                qd[key] = "on"
        elif value is not None:
            qd[key] = str(value)
    return qd


class DateRangeForm(ReportForm):
    date_from = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("To"), widget=DATE_WIDGET)

    def max_days(self, cleaned) -> tuple[int, str]:
        return settings.REPORTS_MAX_RANGE_DAYS, ""

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if not date_from or not date_to:
            return cleaned
        earliest = date.fromisoformat(settings.REPORTS_MIN_DATE)
        latest = timezone.localdate(timezone=self.store.zone) + timedelta(days=366)
        if date_from < earliest:
            self.add_error("date_from", _("Dates before %(date)s are not supported.") % {"date": earliest})
        if date_to > latest:
            self.add_error("date_to", _("The end date is more than a year in the future."))
        if date_from > date_to:
            raise forms.ValidationError(
                _("The start date (%(start)s) is after the end date (%(end)s)."),
                code="inverted_range",
                params={"start": date_from, "end": date_to},
            )
        days = (date_to - date_from).days + 1
        limit, hint = self.max_days(cleaned)
        if days > limit:
            raise forms.ValidationError(
                _(
                    "The range covers %(days)s days; the limit is %(limit)s days%(hint)s. Choose a shorter range."
                ),
                code="range_too_long",
                params={"days": days, "limit": limit, "hint": hint},
            )
        return cleaned

    @classmethod
    def defaults(cls, store) -> dict:
        today = timezone.localdate(timezone=store.zone)
        return {"date_from": (today - timedelta(days=29)).isoformat(), "date_to": today.isoformat()}

    def range_params(self) -> dict:
        return {
            "date_from": self.cleaned_data["date_from"].isoformat(),
            "date_to": self.cleaned_data["date_to"].isoformat(),
        }


class SalesReportForm(DateRangeForm):
    METRICS = [("revenue", _("revenue")), ("units", _("units sold")), ("orders", _("orders"))]
    STYLES = [("stacked", _("stacked bars")), ("lines", _("one line per variant"))]

    granularity = forms.ChoiceField(
        label=_("Granularity"),
        choices=[(DAY, _("day")), (WEEK, _("week")), (MONTH, _("month"))],
        initial=DAY,
        required=False,
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products"),
        queryset=Product.objects.all(),
        required=False,
        help_text=_("Empty: the whole store. With products: their sales, split per variant."),
    )
    statuses = forms.MultipleChoiceField(
        label=_("Order statuses"),
        choices=Order.Status.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Empty: paid orders (paid, packed, shipped, delivered, returned)."),
    )
    metric = forms.ChoiceField(label=_("Chart"), choices=METRICS, initial="revenue", required=False)
    style = forms.ChoiceField(
        label=_("Split per variant as"), choices=STYLES, initial="stacked", required=False
    )
    compare = forms.BooleanField(label=_("Compare with the previous period"), required=False, initial=True)

    def clean_granularity(self):
        return self.cleaned_data.get("granularity") or DAY

    def clean_metric(self):
        return self.cleaned_data.get("metric") or "revenue"

    def clean_style(self):
        return self.cleaned_data.get("style") or "stacked"

    def max_days(self, cleaned) -> tuple[int, str]:
        granularity = cleaned.get("granularity")
        if granularity == DAY:
            return settings.REPORTS_MAX_RANGE_DAYS_DAILY, str(_(" by day (choose weeks or months)"))
        if granularity == WEEK:
            return settings.REPORTS_MAX_RANGE_DAYS_WEEKLY, str(_(" by week (choose months)"))
        return settings.REPORTS_MAX_RANGE_DAYS, ""

    def clean_products(self):
        products = self.cleaned_data["products"]
        foreign = [p for p in products if p.store_id != self.store.pk]
        if foreign:
            raise forms.ValidationError(
                _("Not products of %(store)s: %(names)s."),
                code="foreign_products",
                params={"store": self.store.name, "names": ", ".join(str(p.pk) for p in foreign)},
            )
        return products

    @classmethod
    def defaults(cls, store) -> dict:
        return {
            **super().defaults(store),
            "granularity": DAY,
            "metric": "revenue",
            "style": "stacked",
            "compare": True,
        }

    @property
    def effective_statuses(self) -> list[str]:
        return sorted(self.cleaned_data.get("statuses") or [str(s) for s in PAID_STATUSES])

    def to_params(self) -> dict:
        data = self.cleaned_data
        return {
            **self.range_params(),
            "granularity": data["granularity"],
            "products": _ids(data["products"]),
            "statuses": self.effective_statuses,
            "metric": data["metric"],
            "style": data["style"],
            "compare": bool(data["compare"]),
        }


class OrderReportForm(DateRangeForm):
    statuses = forms.MultipleChoiceField(
        label=_("Status"), choices=Order.Status.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    payment_statuses = forms.MultipleChoiceField(
        label=_("Payment"),
        choices=Order.PaymentStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    shipping_methods = forms.ModelMultipleChoiceField(
        label=_("Shipping method"),
        queryset=ShippingMethod.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channel"), choices=Order.Channel.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    delimiter = forms.ChoiceField(label=_("CSV separator"), choices=DELIMITERS, initial=";", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shipping_methods"].queryset = ShippingMethod.objects.filter(store=self.store)

    def filters(self) -> OrderFilters:
        data = self.cleaned_data
        return OrderFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            statuses=tuple(sorted(data["statuses"])),
            payment_statuses=tuple(sorted(data["payment_statuses"])),
            shipping_method_ids=tuple(_ids(data["shipping_methods"])),
            channels=tuple(sorted(data["channels"])),
        )

    def to_params(self) -> dict:
        f = self.filters()
        return {
            **self.range_params(),
            "statuses": list(f.statuses),
            "payment_statuses": list(f.payment_statuses),
            "shipping_methods": list(f.shipping_method_ids),
            "channels": list(f.channels),
            "delimiter": self.cleaned_data.get("delimiter") or ";",
        }


class StockReportForm(ReportForm):
    only_below_threshold = forms.BooleanField(
        label=_("Only items at or below their low-stock threshold"), required=False
    )
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"), queryset=Warehouse.objects.none(), required=False, empty_label=_("all active")
    )
    delimiter = forms.ChoiceField(label=_("CSV separator"), choices=DELIMITERS, initial=";", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = Warehouse.objects.filter(store=self.store)

    @classmethod
    def defaults(cls, store) -> dict:
        return {"delimiter": ";"}

    def to_params(self) -> dict:
        warehouse = self.cleaned_data.get("warehouse")
        return {
            "only_below_threshold": bool(self.cleaned_data.get("only_below_threshold")),
            "warehouse": warehouse.pk if warehouse else None,
            "delimiter": self.cleaned_data.get("delimiter") or ";",
        }


class RecoveryReportForm(DateRangeForm):
    delimiter = forms.ChoiceField(label=_("CSV separator"), choices=DELIMITERS, initial=";", required=False)

    def to_params(self) -> dict:
        return {**self.range_params(), "delimiter": self.cleaned_data.get("delimiter") or ";"}


FORMS = {
    "sales": SalesReportForm,
    "orders": OrderReportForm,
    "stock": StockReportForm,
    "recovery": RecoveryReportForm,
}
