"""Reports for merchants (API key with ``reports:read``).

* ``reports/sales/``: sales data from :func:`reports.selectors.sales_overview` — the same figures
  as the admin's sales charts.
* ``reports/export/<kind>/?file_format=xlsx|csv|pdf&...``: the admin's order, stock, sales and recovery
  exports through :func:`reports.services.export`: a small report is the file itself (200), a large
  one a background job (202) to poll at ``reports/jobs/<id>/`` and fetch from
  ``reports/jobs/<id>/download/``. Same parameters, limits and error messages as the admin.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django import forms
from django.http import FileResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from orders.models import Order
from shop.api.errors import ApiError
from shop.api.models import Scope
from shop.api.views import MerchantView

from . import selectors, services
from .exports import CONTENT_TYPES
from .models import ReportFormat, ReportJob, ReportKind

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
    date_from = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
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
                status_code=422,  # a rule across parameters the schema cannot state
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


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    format = serializers.CharField()
    status = serializers.ChoiceField(choices=ReportJob.Status.choices)
    progress = serializers.IntegerField()
    row_count = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)


def job_payload(job: ReportJob) -> dict:
    done = job.status == ReportJob.Status.DONE and bool(job.file)
    return {
        **{f: getattr(job, f) for f in ("id", "kind", "format", "status", "progress", "row_count", "error")},
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "download_url": f"/api/v1/reports/jobs/{job.pk}/download/" if done else None,
    }


FILE_RESPONSES = {(200, CONTENT_TYPES[f]): OpenApiTypes.BINARY for f in ReportFormat.values}


class ReportExportView(MerchantView):
    required_scope = Scope.REPORTS_READ
    pagination_class = None

    @extend_schema(
        tags=TAGS,
        parameters=[
            # Not "format": DRF reserves ?format= for choosing its own renderer (JSON only here).
            OpenApiParameter("file_format", str, enum=ReportFormat.values, description="Default: xlsx."),
            OpenApiParameter("date_from", str, description="YYYY-MM-DD (orders, sales, recovery)."),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD (orders, sales, recovery)."),
        ],
        responses={
            **FILE_RESPONSES,
            202: OpenApiResponse(JobOutput, description="Large report: queued as a background job."),
        },
    )
    def get(self, request, kind: str):
        if kind not in ReportKind.values:
            raise ApiError(_("Unknown report: %(kind)s.") % {"kind": kind}, code="not_found", status_code=404)
        params = request.query_params.copy()
        fmt = (params.pop("file_format", None) or [ReportFormat.XLSX])[-1]
        try:
            result = services.export(store=self.store, kind=kind, fmt=fmt, params=params)
        except services.ReportError as exc:
            raise ApiError(str(exc), code="invalid", status_code=400) from exc
        if result.job is not None:
            return Response(JobOutput(job_payload(result.job)).data, status=202)
        return FileResponse(
            result.file, as_attachment=True, filename=result.filename, content_type=result.content_type
        )


def _job(view, pk: int) -> ReportJob:
    job = ReportJob.objects.filter(store=view.store, pk=pk).first()
    if job is None:
        raise ApiError(_("No such report job."), code="not_found", status_code=404)
    return job


class ReportJobView(MerchantView):
    required_scope = Scope.REPORTS_READ
    pagination_class = None

    @extend_schema(tags=TAGS, responses=JobOutput)
    def get(self, request, pk: int):
        return Response(JobOutput(job_payload(_job(self, pk))).data)


class ReportJobDownloadView(MerchantView):
    required_scope = Scope.REPORTS_READ
    pagination_class = None

    @extend_schema(tags=TAGS, responses=FILE_RESPONSES)
    def get(self, request, pk: int):
        job = _job(self, pk)
        if job.status != ReportJob.Status.DONE or not job.file:
            raise ApiError(_("The report is not ready yet."), code="conflict", status_code=409)
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=os.path.basename(job.file.name),
            content_type=CONTENT_TYPES.get(job.format, "application/octet-stream"),
        )


def urlpatterns():
    return [
        path("reports/sales/", SalesReportView.as_view(), name="reports-sales"),
        path("reports/export/<str:kind>/", ReportExportView.as_view(), name="reports-export"),
        path("reports/jobs/<int:pk>/", ReportJobView.as_view(), name="reports-job"),
        path("reports/jobs/<int:pk>/download/", ReportJobDownloadView.as_view(), name="reports-job-download"),
    ]
