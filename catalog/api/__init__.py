"""The catalog's REST API (mounted under /api/v1/ by :mod:`shop.api.urls`).

Public: ``products/``, ``products/<id>/``, ``categories/``, ``groups/``. Merchant (API key):
``manage/products/``, ``manage/variants/``, ``stock/bulk/``, ``prices/bulk/``. Also the
availability check behind the ``stock.low`` / ``stock.out`` webhooks (:func:`stock_alerts`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import path

from .. import stock
from ..models import Variant


def stock_alerts(*, store, variant_ids: Iterable[int]) -> list[tuple[str, dict]]:
    """``[("stock.out" | "stock.low", data)]`` for the variants now out of stock or low, from
    :func:`catalog.stock.availability_map` (a constant number of queries)."""
    ids = [int(i) for i in variant_ids if isinstance(i, int) or str(i).isdigit()]
    variants = list(Variant.objects.filter(store=store, pk__in=ids).select_related("product"))
    alerts = []
    for variant_id, a in sorted(stock.availability_map(variants).items()):
        if a.status not in ("out_of_stock", "low_stock"):
            continue
        v = next(v for v in variants if v.pk == variant_id)
        alerts.append(
            (
                "stock.out" if a.status == "out_of_stock" else "stock.low",
                {
                    "variant_id": v.pk,
                    "sku": v.sku,
                    "product_id": v.product_id,
                    "product_name": v.product.name,
                    "available": a.available,
                    "low_stock_threshold": v.low_stock_threshold,
                    "status": a.status,
                },
            )
        )
    return alerts


def urlpatterns():
    from . import manage, public

    return [
        path("products/", public.ProductListView.as_view(), name="products"),
        path("products/<int:pk>/", public.ProductDetailView.as_view(), name="product"),
        path("categories/", public.CategoryListView.as_view(), name="categories"),
        path("groups/", public.GroupListView.as_view(), name="groups"),
        path("manage/products/", manage.ManageProductListView.as_view(), name="manage-products"),
        path("manage/products/<int:pk>/", manage.ManageProductDetailView.as_view(), name="manage-product"),
        path("manage/variants/", manage.ManageVariantListView.as_view(), name="manage-variants"),
        path("manage/variants/<int:pk>/", manage.ManageVariantDetailView.as_view(), name="manage-variant"),
        path("stock/bulk/", manage.StockBulkView.as_view(), name="stock-bulk"),
        path("prices/bulk/", manage.PriceBulkView.as_view(), name="prices-bulk"),
    ]
