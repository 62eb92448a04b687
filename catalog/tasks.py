"""Catalog background work. Thin: take ids, call a service, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def send_back_in_stock_alerts(self, variant_ids: list[int]) -> int:
    from .alerts import notify_back_in_stock

    try:
        return notify_back_in_stock(variant_ids=variant_ids)
    except OSError as exc:  # SMTP down: try again later; sent alerts were already forgotten
        raise self.retry(exc=exc, countdown=min(1800, 30 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def generate_thumbnails(image_id: int) -> int:
    from .images import make_all_thumbnails
    from .models import ProductImage

    image = ProductImage.objects.filter(pk=image_id).first()
    if image is None or not image.image:
        return 0
    return len(make_all_thumbnails(image.image.name))
