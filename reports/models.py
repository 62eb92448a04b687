"""Report jobs: big exports built by a Celery worker, and the permissions of the report pages.

The report pages read the orders and catalog tables; the only rows this app writes are
``ReportJob`` rows (one per large export) and their files in private storage.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store
from shop.storage import private_storage


class ReportKind(models.TextChoices):
    SALES = "sales", _("sales")
    ORDERS = "orders", _("orders")
    STOCK = "stock", _("stock")
    RECOVERY = "recovery", _("cart recovery")


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "XLSX (Excel)"
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"


# The permission that opens each kind of report (pages, exports and job downloads).
KIND_PERMISSIONS = {
    ReportKind.SALES: "reports.view_sales_report",
    ReportKind.ORDERS: "reports.view_order_report",
    ReportKind.STOCK: "reports.view_stock_report",
    ReportKind.RECOVERY: "reports.view_recovery_report",
}


class ReportJob(models.Model):
    """One export too large to build inside a request, built by ``reports.tasks.run_report_job``.

    ``params_hash`` identifies what was asked (store, kind, format and the cleaned parameters);
    a partial unique constraint allows one queued-or-running job per hash, so asking twice
    returns the job already under way instead of building the same file twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="report_jobs")
    kind = models.CharField(_("report"), max_length=16, choices=ReportKind.choices)
    format = models.CharField(_("format"), max_length=8, choices=ReportFormat.choices)
    params = models.JSONField(_("parameters"), default=dict)
    params_hash = models.CharField(max_length=64, db_index=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), storage=private_storage, upload_to="reports/", blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="report_jobs",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("report job")
        verbose_name_plural = _("report jobs")
        permissions = [
            ("view_sales_report", _("Can view sales charts and reports")),
            ("view_order_report", _("Can view and export order reports")),
            ("view_stock_report", _("Can view and export stock reports")),
            ("view_recovery_report", _("Can view and export cart recovery reports")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["params_hash"],
                condition=Q(status__in=["queued", "running"]),
                name="report_job_one_active_per_params",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="report_job_progress_percent"
            ),
        ]
        indexes = [models.Index(fields=["status", "finished_at"], name="report_job_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.format.upper()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def permission(self) -> str:
        return KIND_PERMISSIONS[ReportKind(self.kind)]

    @property
    def filename(self) -> str:
        stamp = timezone.localtime(self.created_at, self.store.zone).strftime("%Y%m%d-%H%M")
        return f"{self.kind}-{stamp}-{self.pk}.{self.format}"
