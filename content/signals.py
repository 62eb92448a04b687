"""Cache invalidation of the footer and legal links (every save path of a page or the footer),
and the default pages of a store created after it is committed."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _forget_page(sender, instance, **kwargs):
    from .selectors import forget

    forget(instance.store_id)


def _forget_column(sender, instance, **kwargs):
    from .selectors import forget

    forget(instance.store_id)


def _forget_link(sender, instance, **kwargs):
    from .models import FooterColumn
    from .selectors import forget

    store_id = FooterColumn.objects.filter(pk=instance.column_id).values_list("store_id", flat=True).first()
    if store_id:
        forget(store_id)


def _store_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from .selectors import forget

    forget(instance.pk)  # the footer shows the company's name
    if created:
        store_id = instance.pk

        def create_pages():
            from shop.models import Store

            from .pages import ensure_default_pages

            store = Store.objects.filter(pk=store_id).first()
            if store is not None:
                ensure_default_pages(store=store)

        transaction.on_commit(create_pages)


def connect() -> None:
    from shop.models import Store

    from .models import FooterColumn, FooterLink, Page

    for model, handler in ((Page, _forget_page), (FooterColumn, _forget_column), (FooterLink, _forget_link)):
        post_save.connect(handler, sender=model, dispatch_uid=f"content.forget.save.{model.__name__}")
        post_delete.connect(handler, sender=model, dispatch_uid=f"content.forget.delete.{model.__name__}")
    post_save.connect(_store_saved, sender=Store, dispatch_uid="content.store_saved")
