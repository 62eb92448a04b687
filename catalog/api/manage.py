"""Merchant catalog endpoints (API key with ``catalog:read`` / ``catalog:write`` / ``stock:write``).

Writes go through :mod:`catalog.services` and :mod:`catalog.stock`, one call per view; bulk
updates are all or nothing (``services.change_prices_by_row``, ``stock.adjust_stock_by_row``):
if any row is refused, nothing is kept and the answer lists every refused row
(``rows.<index>.<field>``).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from shop.api.errors import ApiError
from shop.api.idempotency import idempotent
from shop.api.models import Scope
from shop.api.views import MerchantView, query_bool, query_int

from .. import services, stock
from ..models import AttributeValue, Category, Product, Variant
from .serializers import (
    BulkResultSerializer,
    ManageProductOutput,
    ManageVariantOutput,
    PriceRowInput,
    ProductInput,
    StockRowInput,
    VariantInput,
    VariantUpdateInput,
    bulk_input,
)

CATALOG_SCOPES = {
    "GET": Scope.CATALOG_READ,
    "POST": Scope.CATALOG_WRITE,
    "PATCH": Scope.CATALOG_WRITE,
    "DELETE": Scope.CATALOG_WRITE,
}

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key returns the first answer and changes nothing again.",
)


def _products(store):
    variants = Variant.objects.prefetch_related("attribute_values").order_by("position", "pk")
    return Product.objects.filter(store=store).prefetch_related(Prefetch("variants", queryset=variants))


def _category(store, category_id):
    if category_id is None:
        return None
    category = Category.objects.filter(store=store, pk=category_id).first()
    if category is None:
        raise ApiError(_("No such category."), status_code=422, fields={"category": [_("No such category.")]})
    return category


@contextmanager
def model_rules():
    """The model's own rules (compare-at price above the price, a unique SKU) refuse a
    well-formed request: 422 with the fields, not a 400 shape error (docs/api.md)."""
    try:
        yield
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        raise ApiError(_("Some fields are invalid."), status_code=422, fields=fields) from exc


class ManageProductListView(MerchantView):
    required_scopes = CATALOG_SCOPES

    @extend_schema(
        tags=["merchant: catalog"],
        parameters=[
            OpenApiParameter("search", str, description="Name, slug or SKU contains."),
            OpenApiParameter("published", bool),
        ],
        responses=ManageProductOutput(many=True),
    )
    def get(self, request):
        qs = _products(self.store).order_by("-pk")
        term = (request.query_params.get("search") or "").strip()[:100]
        if term:
            qs = qs.filter(
                Q(name__icontains=term) | Q(slug__icontains=term) | Q(variants__sku__icontains=term)
            ).distinct()
        published = query_bool(request, "published")
        if published is not None:
            qs = qs.filter(is_published=published)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ManageProductOutput(page, many=True).data)

    @extend_schema(
        tags=["merchant: catalog"],
        request=ProductInput,
        responses={201: ManageProductOutput},
        examples=[
            OpenApiExample(
                "new product",
                value={"name": "Sukienka lniana", "vat_rate": "23", "category": 3, "is_published": False},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = ProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["category"] = _category(self.store, values.get("category"))
        product = services.save_product(product=Product(store=self.store, **values))
        return Response(ManageProductOutput(_products(self.store).get(pk=product.pk)).data, status=201)


class ManageProductDetailView(MerchantView):
    required_scopes = CATALOG_SCOPES

    def _get(self, pk) -> Product:
        product = _products(self.store).filter(pk=pk).first()
        if product is None:
            raise ApiError(_("No such product."), code="not_found", status_code=404)
        return product

    @extend_schema(tags=["merchant: catalog"], responses=ManageProductOutput)
    def get(self, request, pk: int):
        return Response(ManageProductOutput(self._get(pk)).data)

    @extend_schema(
        tags=["merchant: catalog"], request=ProductInput(partial=True), responses=ManageProductOutput
    )
    def patch(self, request, pk: int):
        product = self._get(pk)
        data = ProductInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "category" in values:
            values["category"] = _category(self.store, values["category"])
        for name, value in values.items():
            setattr(product, name, value)
        services.save_product(product=product)
        return Response(ManageProductOutput(self._get(pk)).data)

    @extend_schema(tags=["merchant: catalog"], responses={204: None})
    def delete(self, request, pk: int):
        services.delete_product(product=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _attribute_values(store, ids):
    if ids is None:
        return None
    values = list(
        AttributeValue.objects.filter(attribute__store=store, pk__in=ids).select_related("attribute")
    )
    if len(values) != len(set(ids)):
        raise ApiError(
            _("Unknown attribute values."),
            status_code=422,
            fields={"attribute_values": [_("Unknown attribute values.")]},
        )
    return values


class ManageVariantListView(MerchantView):
    required_scopes = CATALOG_SCOPES

    @extend_schema(
        tags=["merchant: catalog"],
        parameters=[OpenApiParameter("sku", str), OpenApiParameter("product", int)],
        responses=ManageVariantOutput(many=True),
    )
    def get(self, request):
        qs = Variant.objects.filter(store=self.store).prefetch_related("attribute_values").order_by("pk")
        if request.query_params.get("sku"):
            qs = qs.filter(sku=request.query_params["sku"][:64])
        product = query_int(request, "product")
        if product is not None:
            qs = qs.filter(product_id=product)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ManageVariantOutput(page, many=True).data)

    @extend_schema(tags=["merchant: catalog"], request=VariantInput, responses={201: ManageVariantOutput})
    def post(self, request):
        data = VariantInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        product = Product.objects.filter(store=self.store, pk=values.pop("product")).first()
        if product is None:
            raise ApiError(
                _("No such product."), status_code=422, fields={"product": [_("No such product.")]}
            )
        attribute_values = _attribute_values(self.store, values.pop("attribute_values", None))
        variant = Variant(store=self.store, product=product, **values)
        with model_rules():
            services.save_variant(variant=variant, attribute_values=attribute_values)
        return Response(ManageVariantOutput(variant).data, status=201)


class ManageVariantDetailView(MerchantView):
    required_scopes = CATALOG_SCOPES

    def _get(self, pk) -> Variant:
        variant = Variant.objects.filter(store=self.store, pk=pk).select_related("product").first()
        if variant is None:
            raise ApiError(_("No such variant."), code="not_found", status_code=404)
        return variant

    @extend_schema(tags=["merchant: catalog"], responses=ManageVariantOutput)
    def get(self, request, pk: int):
        return Response(ManageVariantOutput(self._get(pk)).data)

    @extend_schema(
        tags=["merchant: catalog"], request=VariantUpdateInput(partial=True), responses=ManageVariantOutput
    )
    def patch(self, request, pk: int):
        variant = self._get(pk)
        data = VariantUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        attribute_values = _attribute_values(self.store, values.pop("attribute_values", None))
        for name, value in values.items():
            setattr(variant, name, value)
        with model_rules():
            services.save_variant(variant=variant, attribute_values=attribute_values)
        return Response(ManageVariantOutput(variant).data)

    @extend_schema(tags=["merchant: catalog"], responses={204: None})
    def delete(self, request, pk: int):
        services.delete_variant(variant=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Bulk updates --------------------------------------------------------------------------------


@contextmanager
def rows_refused():
    """A bulk change the catalog refused (nothing was kept): 422 listing every refused row."""
    try:
        yield
    except services.RowsRefused as exc:
        rows = {key.split(".")[1] for key in exc.errors}
        raise ApiError(
            _("No row was applied: %(n)d rows were refused.") % {"n": len(rows)},
            code="rows_refused",
            status_code=422,
            fields=exc.errors,
        ) from exc


class BulkRowsView(MerchantView):
    """A bulk endpoint: ``rows`` of ``row_input``, applied by one catalog service call
    (:meth:`apply`), once per Idempotency-Key."""

    row_input: type

    def post(self, request):
        return idempotent(
            request=request,
            scope=f"key:{self.api_key.pk}",
            api_key=self.api_key,
            run=lambda: self._apply(request),
            atomic=True,  # the rows and the recorded answer commit together: a retry never re-applies
        )

    def _apply(self, request):
        data = bulk_input(self.row_input)(data=request.data)
        data.is_valid(raise_exception=True)
        with rows_refused():
            result = self.apply(data.validated_data["rows"])
        return Response({"updated": len(result), "rows": result})

    def apply(self, rows: list[dict]) -> list[dict]:
        raise NotImplementedError


@extend_schema(
    tags=["merchant: catalog"],
    request=bulk_input(StockRowInput),
    responses=BulkResultSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    examples=[
        OpenApiExample(
            "stock count",
            value={"rows": [{"sku": "SUK-001-M", "quantity": 12}, {"sku": "SUK-001-L", "delta": -1}]},
            request_only=True,
        )
    ],
)
class StockBulkView(BulkRowsView):
    """Set (``quantity``) or change (``delta``) on-hand stock of up to API_BULK_MAX_ROWS rows."""

    required_scope = Scope.STOCK_WRITE
    row_input = StockRowInput

    def apply(self, rows):
        done = stock.adjust_stock_by_row(store=self.store, rows=rows, reference=f"api:{self.api_key.prefix}")
        return [
            {"row": i, "variant_id": v.pk, "sku": v.sku, "warehouse": w.code, "quantity": item.quantity}
            for i, (v, w, item) in enumerate(done)
        ]


@extend_schema(
    tags=["merchant: catalog"],
    request=bulk_input(PriceRowInput),
    responses=BulkResultSerializer,
    parameters=[IDEMPOTENCY_PARAMETER],
    examples=[
        OpenApiExample(
            "sale",
            value={"rows": [{"sku": "SUK-001-M", "price": "149.00", "compare_at_price": "199.00"}]},
            request_only=True,
        )
    ],
)
class PriceBulkView(BulkRowsView):
    """Change the gross price (and compare-at price) of up to API_BULK_MAX_ROWS variants; the
    price history (EU Omnibus) is recorded by the catalog's price service."""

    required_scope = Scope.CATALOG_WRITE
    row_input = PriceRowInput

    def apply(self, rows):
        variants = services.change_prices_by_row(store=self.store, rows=rows)
        return [
            {
                "row": i,
                "variant_id": v.pk,
                "sku": v.sku,
                "price": str(v.price),
                "compare_at_price": None if v.compare_at_price is None else str(v.compare_at_price),
            }
            for i, v in enumerate(variants)
        ]
