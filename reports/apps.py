from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def install_report_schedules(**kwargs) -> None:
    from shop.schedules import ensure_periodic_task

    ensure_periodic_task(
        name="Delete old report files",
        task="reports.tasks.cleanup_report_files",
        crontab={"minute": "20", "hour": "4"},
        description="Deletes finished report jobs and their files after REPORTS_KEEP_DAYS days.",
    )
    ensure_periodic_task(
        name="Restart stuck report jobs",
        task="reports.tasks.requeue_stale_report_jobs",
        every_seconds=600,
        description="Re-enqueues report jobs whose enqueue was lost or whose worker died.",
    )


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        post_migrate.connect(install_report_schedules, sender=self, dispatch_uid="reports-schedules")
