"""Demo data: the demo store's standard pages, written again now that its shipping and payment
methods exist (orders seeded them after the store was created) and published."""

from __future__ import annotations


def seed(*, store, rng) -> None:
    from .models import Page
    from .pages import default_body, default_context, ensure_default_pages, publish

    ensure_default_pages(store=store)
    context = default_context(store)
    for page in Page.objects.filter(store=store, status=Page.Status.DRAFT, version=0).exclude(
        kind=Page.Kind.CUSTOM
    ):
        page.body = default_body(store=store, kind=page.kind, context=context)
        publish(page=page)
