"""Template context for every storefront page: the store's marketing tag configuration."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .selectors import request_config


def marketing(request):
    """``marketing`` for base.html: the public tag configuration (cached; no query per page),
    evaluated only when a template looks at it."""
    return {"marketing": SimpleLazyObject(lambda: request_config(request))}
