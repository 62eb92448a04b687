"""Sales report data for merchants (API key with ``reports:read``), from
:func:`reports.selectors.sales_overview`: the same figures as the admin's sales charts."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from orders.models import Order
from shop.api.errors import ApiError
from shop.api.models import Scope
from shop.api.views import MerchantView

from . import selectors

TAGS = ["merchant: reports"]
MAX_RANGE_DAYS = 731
MONEY = {"max_digits": 14, "decimal_places": 2}


class PeriodOutput(serializers.Serializer):
    period = serializers.DateField()
    gross = serializers.DecimalField(**MONEY)
    refunds = serializers.DecimalField(**MONEY)
    revenue = serializers.DecimalField(**MONEY)
    units = serializers.IntegerField()
    orders = serializers.IntegerField()


class SalesTotalsOutput(serializers.Serializer):
    gross = serializers.DecimalField(**MONEY)
    refunds = serializers.DecimalField(**MONEY)
    revenue = serializers.DecimalField(**MONEY)
    units = serializers.IntegerField()
    orders = serializers.IntegerField()
    average_order_value = serializers.DecimalField(**MONEY)


class RankedOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    revenue = serializers.DecimalField(**MONEY)
    units = serializers.IntegerField()
    orders = serializers.IntegerField()


class SalesOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    granularity = serializers.CharField()
    currency = serializers.CharField()
    totals = SalesTotalsOutput()
    previous_totals = SalesTotalsOutput(allow_null=True)
    periods = PeriodOutput(many=True)
    top_products = RankedOutput(many=True)
    top_categories = RankedOutput(many=True)
    channels = RankedOutput(many=True)


class SalesForm(forms.Form):
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    granularity = forms.ChoiceField(
        required=False, choices=[("day", "day"), ("week", "week"), ("month", "month")]
    )
    status = forms.MultipleChoiceField(required=False, choices=Order.Status.choices)


class SalesReportView(MerchantView):
    required_scope = Scope.REPORTS_READ
    pagination_class = None

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("date_from", str, description="YYYY-MM-DD (default: 29 days ago)."),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD (default: today)."),
            OpenApiParameter("granularity", str, enum=["day", "week", "month"]),
            OpenApiParameter(
                "status", str, many=True, enum=Order.Status.values, description="Default: paid ones."
            ),
        ],
        responses=SalesOutput,
    )
    def get(self, request):
        form = SalesForm(request.query_params)
        if not form.is_valid():
            raise ApiError(
                _("Some parameters are invalid."),
                status_code=400,
                fields={k: list(v) for k, v in form.errors.items()},
            )
        today = timezone.now().astimezone(self.store.zone).date()
        date_to = form.cleaned_data.get("date_to") or today
        date_from = form.cleaned_data.get("date_from") or date_to - timedelta(days=29)
        if date_to < date_from or date_to - date_from > timedelta(days=MAX_RANGE_DAYS):
            raise ApiError(
                _("Choose an end date after the start, at most two years apart."),
                status_code=400,
                fields={"date_to": [_("Invalid range.")]},
            )
        overview = selectors.sales_overview(
            store=self.store,
            date_from=date_from,
            date_to=date_to,
            granularity=form.cleaned_data.get("granularity") or "day",
            statuses=form.cleaned_data.get("status") or None,
        )
        s = overview.series
        data = {
            "date_from": date_from,
            "date_to": date_to,
            "granularity": s.granularity,
            "currency": s.currency,
            "totals": s.totals,
            "previous_totals": overview.previous.totals if overview.previous else None,
            "periods": [
                {"period": p, "gross": g, "refunds": r, "revenue": v, "units": u, "orders": o}
                for p, g, r, v, u, o in zip(
                    s.periods, s.gross, s.refunds, s.revenue, s.units, s.orders, strict=True
                )
            ],
            "top_products": overview.products,
            "top_categories": overview.categories,
            "channels": overview.channels,
        }
        return Response(SalesOutput(data).data)


def urlpatterns():
    return [path("reports/sales/", SalesReportView.as_view(), name="reports-sales")]
