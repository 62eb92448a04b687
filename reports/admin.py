"""Reports in the admin: the report pages (sales charts, orders, stock, recovery), report jobs
with their progress, retry and staff-only downloads.

The pages hang under the ``ReportJob`` admin (``/admin/reports/reportjob/sales/`` ...) so they
get the admin's login, layout and breadcrumbs; each checks its own permission
(``reports.view_sales_report`` ...), a member of staff without it gets 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from shop.admin_mixins import ReadOnlyAdminMixin, scope_to_stores
from shop.models import Store

from . import builders, services
from .forms import FORMS
from .models import KIND_PERMISSIONS, ReportFormat, ReportJob, ReportKind

TITLES = {
    ReportKind.SALES: _("Sales charts"),
    ReportKind.ORDERS: _("Order report"),
    ReportKind.STOCK: _("Stock report"),
    ReportKind.RECOVERY: _("Cart recovery report"),
}


def allowed_kinds(user) -> list[str]:
    return [kind for kind, perm in KIND_PERMISSIONS.items() if user.has_perm(perm)]


def _check(request, kind: str) -> None:
    if not request.user.has_perm(KIND_PERMISSIONS[kind]):
        raise PermissionDenied


def _stores_offered(request):
    """The stores a report may be run for by this user (the picker shows only when several)."""
    stores = scope_to_stores(Store.objects.order_by("name"), request.user)
    return stores if stores.count() > 1 else []


def _store(request) -> Store:
    """The store the page reports on: ``?store=<id>`` when several exist, else the request's."""
    stores = scope_to_stores(Store.objects.order_by("name"), request.user)
    raw = request.GET.get("store") or request.POST.get("store")
    if raw:
        store = stores.filter(pk=raw).first() if str(raw).isdigit() else None
        if store is None:
            raise Http404(gettext("No such store."))
        return store
    store = getattr(request, "store", None)
    if store is not None and not stores.filter(pk=store.pk).exists():
        store = None
    store = store or stores.filter(is_default=True).first() or stores.first()
    if store is None:
        raise Http404(gettext("No store yet."))
    return store


@admin.register(ReportJob)
class ReportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    read_only_deletable = True  # with reports.delete_reportjob
    list_display = [
        "id",
        "kind",
        "format",
        "store",
        "status_badge",
        "progress_bar",
        "row_count",
        "requested_by",
        "created_at",
        "finished_at",
        "download",
    ]
    list_filter = ["status", "kind", "format", "store"]
    readonly_fields = [
        "store",
        "kind",
        "format",
        "params",
        "status",
        "progress",
        "row_count",
        "error",
        "attempts",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "download",
    ]
    exclude = ["file"]
    actions = ["retry_jobs"]
    change_list_template = "reports/admin/reportjob_changelist.html"

    # Anyone allowed one kind of report sees the jobs of that kind (and only those).
    def has_module_permission(self, request):
        return bool(allowed_kinds(request.user))

    def has_view_permission(self, request, obj=None):
        kinds = allowed_kinds(request.user)
        return bool(kinds) and (obj is None or obj.kind in kinds)

    def has_retry_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("store", "requested_by")
            .filter(kind__in=allowed_kinds(request.user))
        )

    def changelist_view(self, request, extra_context=None):
        kinds = allowed_kinds(request.user)
        extra_context = {
            **(extra_context or {}),
            "report_links": [
                (TITLES[k], reverse(f"admin:reports_reportjob_{k}")) for k in ReportKind.values if k in kinds
            ],
            "refresh_seconds": settings.REPORTS_REFRESH_SECONDS
            if self.get_queryset(request).filter(status__in=ReportJob.ACTIVE).exists()
            else None,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        colors = {"queued": "#5b6475", "running": "#0072B2", "done": "#009E73", "failed": "#D55E00"}
        return format_html(
            '<span style="color:{};font-weight:bold" title="{}">{}</span>',
            colors.get(obj.status, "#000"),
            obj.error,
            obj.get_status_display(),
        )

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        return format_html(
            '<progress max="100" value="{}">{}%</progress> {}%', obj.progress, obj.progress, obj.progress
        )

    @admin.display(description=_("file"))
    def download(self, obj):
        if obj.status == ReportJob.Status.DONE and obj.file:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:reports_reportjob_download", args=[obj.pk]),
                gettext("Download"),
            )
        if obj.status == ReportJob.Status.FAILED:
            return obj.error
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:reports_reportjob_status", args=[obj.pk]), gettext("Follow")
        )

    @admin.action(description=_("Retry the selected failed jobs"), permissions=["retry"])
    def retry_jobs(self, request, queryset):
        retried = skipped = 0
        for job in queryset.filter(kind__in=allowed_kinds(request.user)):
            if services.retry_job(job=job):
                retried += 1
            else:
                skipped += 1
        if retried:
            self.message_user(
                request, gettext("%(n)s job(s) queued again.") % {"n": retried}, messages.SUCCESS
            )
        if skipped:
            self.message_user(
                request,
                gettext(
                    "%(n)s job(s) skipped: only failed jobs are retried, and not while the same report is running."
                )
                % {"n": skipped},
                messages.WARNING,
            )

    def get_urls(self):
        view = self.admin_site.admin_view
        custom = [
            path("sales/", view(self.sales_view), name="reports_reportjob_sales"),
            path("orders/", view(self.table_view), {"kind": "orders"}, name="reports_reportjob_orders"),
            path("stock/", view(self.table_view), {"kind": "stock"}, name="reports_reportjob_stock"),
            path("recovery/", view(self.table_view), {"kind": "recovery"}, name="reports_reportjob_recovery"),
            path("products/", view(self.products_view), name="reports_reportjob_products"),
            path("<int:pk>/status/", view(self.status_view), name="reports_reportjob_status"),
            path("<int:pk>/download/", view(self.download_view), name="reports_reportjob_download"),
        ]
        return custom + super().get_urls()

    # --- pages --------------------------------------------------------------------------------

    def _context(self, request, kind, store, form, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": TITLES[kind],
            "kind": kind,
            "store": store,
            "stores": _stores_offered(request),
            "form": form,
            "formats": ReportFormat.choices,
            "async_threshold": settings.REPORTS_ASYNC_THRESHOLD_ROWS,
            "pdf_max_rows": settings.REPORTS_PDF_MAX_ROWS,
            **extra,
        }

    def _export(self, request, kind, store, form):
        """POST with ``export=<format>``: the file now, or a job (new or already under way)."""
        fmt = request.POST.get("export", "")
        if fmt not in ReportFormat.values:
            form.add_error(None, gettext("Choose a format: XLSX, PDF or CSV."))
            return None
        try:
            result = services.export(
                store=store, kind=kind, fmt=fmt, params=form.to_params(), user=request.user
            )
        except services.ReportError as exc:
            form.add_error(None, str(exc))
            return None
        if result.job is not None:
            if result.created:
                self.message_user(
                    request,
                    gettext(
                        "The report has %(rows)s rows: it is being prepared in the background. "
                        "You will get an email with the link when it is ready."
                    )
                    % {"rows": result.row_count},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    gettext("The same report is already being prepared; here is its progress."),
                    messages.INFO,
                )
            return redirect("admin:reports_reportjob_status", result.job.pk)
        return FileResponse(
            result.file, as_attachment=True, filename=result.filename, content_type=result.content_type
        )

    @staticmethod
    def _data(request):
        return request.POST if request.method == "POST" else (request.GET or None)

    def sales_view(self, request):
        kind = ReportKind.SALES
        _check(request, kind)
        store = _store(request)
        form = FORMS[kind].bound(self._data(request), store=store)
        extra = {}
        if form.is_valid():
            if request.method == "POST":
                response = self._export(request, kind, store, form)
                if response is not None:
                    return response
            if form.is_valid():
                overview = builders.sales_overview_from_form(form, store)
                columns, rows = builders.series_table(overview)
                extra = {
                    "overview": overview,
                    "charts": builders.sales_charts(
                        overview, metric=form.cleaned_data["metric"], style=form.cleaned_data["style"]
                    ),
                    "cards": builders.summary_cards(overview),
                    "table": _display_table(columns, rows, store.currency),
                    "rankings": [
                        (
                            gettext("Top products"),
                            _display_table(
                                builders.ranking_columns("products"),
                                builders.ranking_rows(overview.products),
                                store.currency,
                            ),
                        ),
                        (
                            gettext("Top categories"),
                            _display_table(
                                builders.ranking_columns("categories"),
                                builders.ranking_rows(overview.categories),
                                store.currency,
                            ),
                        ),
                        (
                            gettext("Sales per channel"),
                            _display_table(
                                builders.ranking_columns("channels"),
                                builders.ranking_rows(overview.channels),
                                store.currency,
                            ),
                        ),
                    ],
                }
        products_field = form.fields["products"]
        options = Product.objects.filter(store=store).order_by("name")
        if options.count() > settings.REPORTS_PRODUCT_OPTIONS_LIMIT:
            chosen = form.data.getlist("products") if hasattr(form.data, "getlist") else []
            options = options.filter(pk__in=[c for c in chosen if str(c).isdigit()])
            extra["autocomplete"] = True
        products_field.queryset = options
        extra["autocomplete_url"] = reverse("admin:reports_reportjob_products") + f"?store={store.pk}"
        return TemplateResponse(
            request, "reports/admin/sales.html", self._context(request, kind, store, form, **extra)
        )

    def table_view(self, request, kind):
        _check(request, kind)
        store = _store(request)
        form = FORMS[kind].bound(self._data(request), store=store)
        extra = {}
        if form.is_valid():
            if request.method == "POST":
                response = self._export(request, kind, store, form)
                if response is not None:
                    return response
            if form.is_valid():
                report = services.build_report(store=store, kind=kind, params=form.to_params())
                section = report.sections[0]
                preview = []
                for i, row in enumerate(section.rows):
                    if i >= 50:
                        break
                    preview.append(row)
                extra = {
                    "report": report,
                    "row_count": section.count,
                    "table": _display_table(
                        section.columns, preview, store.currency, report.yes_no, totals=section.count <= 50
                    ),
                    "charts": report.charts,
                }
        return TemplateResponse(
            request, "reports/admin/table.html", self._context(request, kind, store, form, **extra)
        )

    def products_view(self, request):
        """Autocomplete for the sales page: this store's products matching ``q`` (JSON)."""
        _check(request, ReportKind.SALES)
        store = _store(request)
        q = (request.GET.get("q") or "").strip()[:100]
        products = Product.objects.filter(store=store)
        if q:
            products = products.filter(Q(name__icontains=q) | Q(variants__sku__icontains=q)).distinct()
        results = [{"id": p.pk, "text": p.name} for p in products.order_by("name")[:20]]
        return JsonResponse({"results": results})

    def _job(self, request, pk) -> ReportJob:
        job = get_object_or_404(
            scope_to_stores(ReportJob.objects.select_related("store", "requested_by"), request.user),
            pk=pk,
        )
        if not request.user.has_perm(job.permission):
            raise PermissionDenied
        return job

    def status_view(self, request, pk):
        job = self._job(request, pk)
        if request.GET.get("format") == "json":
            return JsonResponse(
                {
                    "status": job.status,
                    "progress": job.progress,
                    "rows": job.row_count,
                    "error": job.error,
                    "download": reverse("admin:reports_reportjob_download", args=[job.pk])
                    if job.status == ReportJob.Status.DONE
                    else None,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(job),
            "job": job,
            "refresh_seconds": settings.REPORTS_REFRESH_SECONDS if job.is_active else None,
        }
        return TemplateResponse(request, "reports/admin/job_status.html", context)

    def download_view(self, request, pk):
        job = self._job(request, pk)
        if job.status != ReportJob.Status.DONE or not job.file:
            raise Http404(gettext("This report has no file (yet)."))
        try:
            fh = job.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404(gettext("The file was deleted.")) from exc
        from .exports import CONTENT_TYPES

        return FileResponse(
            fh, as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[job.format]
        )


def _display_table(columns, rows, currency, yes_no=("yes", "no"), totals: bool = True) -> dict:
    from .exports.table import INT, MONEY, PERCENT, Totals, display

    numeric = {INT, MONEY, PERCENT}
    sums = Totals(columns)
    body = []
    for row in rows:
        sums.add(row)
        body.append([(display(row.get(c.key), c, currency, yes_no), c.kind in numeric) for c in columns])
    foot = None
    if totals and any(c.total for c in columns):
        total_row = sums.row(columns, gettext("Total"))
        foot = [(display(total_row.get(c.key), c, currency, yes_no), c.kind in numeric) for c in columns]
    return {"head": [(c.title, c.kind in numeric) for c in columns], "body": body, "foot": foot}
