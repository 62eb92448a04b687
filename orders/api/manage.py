"""Merchant order endpoints (API key with ``orders:read`` / ``orders:write``): search with the
search selector the admin uses too (``orders.selectors.search``) and status changes through the
workflow (``orders.services.change_status``), shipping with a tracking number through
``orders.services.fulfilment.mark_shipped``."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from shop.api.errors import ApiError
from shop.api.models import Scope
from shop.api.views import MerchantView, StrictSerializer

from .. import services
from ..models import Order, OrderLine
from ..selectors.search import RANGE, OrderSearchForm, search_orders
from ..services.fulfilment import mark_shipped
from .errors import refusals
from .serializers import ManageOrderOutput, StatusChangeInput

TAGS = ["merchant: orders"]


class SearchForm(OrderSearchForm):
    """The query parameters: the admin's search criteria, unprefixed, dates as YYYY-MM-DD (a bad
    date or amount is a 400, never a 500)."""

    prefix = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("date_from", "date_to"):
            self.fields[name].input_formats = ["%Y-%m-%d"]


def _orders(store):
    return (
        Order.objects.filter(store=store)
        .select_related("shipping_address", "billing_address")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("position", "pk")))
    )


class ManageOrderListView(MerchantView):
    required_scope = Scope.ORDERS_READ

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("q", str, description="Anything: number, email, name, phone, product."),
            OpenApiParameter("number", str),
            OpenApiParameter("email", str),
            OpenApiParameter("name", str),
            OpenApiParameter("phone", str),
            OpenApiParameter("product", str, description="Product name or SKU."),
            OpenApiParameter("status", str, many=True, enum=Order.Status.values),
            OpenApiParameter("payment", str, many=True, enum=Order.PaymentStatus.values),
            OpenApiParameter("date_from", str, description="YYYY-MM-DD, in the store's time zone."),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD, inclusive."),
            OpenApiParameter("total_min", str),
            OpenApiParameter("total_max", str),
        ],
        responses=ManageOrderOutput(many=True),
    )
    def get(self, request):
        form = SearchForm(request.query_params)
        if not form.is_valid():
            # A reversed range of well-formed dates or amounts is a rule across parameters the
            # schema cannot state: 422, like the reports' ranges; anything else is the shape: 400.
            only_ranges = all(
                error.code == RANGE for errors in form.errors.as_data().values() for error in errors
            )
            raise ApiError(
                _("Some parameters are invalid."),
                status_code=422 if only_ranges else 400,
                fields={k: list(v) for k, v in form.errors.items()},
            )
        qs = search_orders(_orders(self.store), form.cleaned_data, zone=self.store.zone).order_by(
            "-created_at", "-pk"
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(
            ManageOrderOutput(page, many=True, context={"request": request}).data
        )


def _order(store, pk) -> Order:
    order = _orders(store).filter(pk=pk).first()
    if order is None:
        raise ApiError(_("No such order."), code="not_found", status_code=404)
    return order


class ManageOrderDetailView(MerchantView):
    required_scope = Scope.ORDERS_READ

    @extend_schema(tags=TAGS, responses=ManageOrderOutput)
    def get(self, request, pk: int):
        return Response(ManageOrderOutput(_order(self.store, pk), context={"request": request}).data)


class ManageOrderStatusView(MerchantView):
    """Move an order along the workflow (paid, packed, shipped, delivered, cancelled, ...)."""

    required_scope = Scope.ORDERS_WRITE

    @extend_schema(tags=TAGS, request=StatusChangeInput, responses=ManageOrderOutput)
    def post(self, request, pk: int):
        order = _order(self.store, pk)
        data = StatusChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with refusals():
            services.change_status(
                order=order,
                status=data.validated_data["status"],
                user=self.api_key.created_by,
                note=data.validated_data.get("note")
                or _("via API key %(name)s") % {"name": self.api_key.name},
            )
        return Response(ManageOrderOutput(_order(self.store, pk), context={"request": request}).data)


class ShipInput(StrictSerializer):
    tracking_number = serializers.CharField(
        max_length=100, help_text="The parcel's tracking number (letters, digits, -, /, .; spaces dropped)."
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ManageOrderShipView(MerchantView):
    """Ship a packed order with its parcel's tracking number (the shopper's e-mail shows it)."""

    required_scope = Scope.ORDERS_WRITE

    @extend_schema(tags=TAGS, request=ShipInput, responses=ManageOrderOutput)
    def post(self, request, pk: int):
        order = _order(self.store, pk)
        data = ShipInput(data=request.data)
        data.is_valid(raise_exception=True)
        with refusals():
            mark_shipped(
                order=order,
                tracking_number=data.validated_data["tracking_number"],
                user=self.api_key.created_by,
                note=data.validated_data.get("note")
                or _("via API key %(name)s") % {"name": self.api_key.name},
            )
        return Response(ManageOrderOutput(_order(self.store, pk), context={"request": request}).data)
