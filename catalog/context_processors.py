"""Template context for every storefront page: the top-level categories for the menu."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .pagecache import request_tree
from .selectors import category_tree


def navigation(request):
    """``nav_categories`` (top-level categories) for base.html's menu, from the cached tree.

    Lazy, so responses that never render the menu do not even read the cache.
    """
    store = getattr(request, "store", None)
    if store is None or request.path.startswith("/admin/"):
        return {}

    def roots():
        # A catalog page fetched the tree with its own cache look-up (catalog.pagecache).
        return request_tree(request, category_tree).roots

    return {"nav_categories": SimpleLazyObject(roots)}
