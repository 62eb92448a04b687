"""A logged-in shopper's own data: profile, orders, address book, downloads and returns.

Every query is narrowed to ``request.user`` in ``request.store`` by the account selectors of
:mod:`orders.accounts`; anything else is "not found".
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from shop.api.errors import ApiError
from shop.api.views import CustomerView

from .. import accounts, returns
from ..models import Address
from .errors import refusals
from .serializers import (
    AddressInput,
    AddressOutput,
    DownloadOutput,
    MeOutput,
    OrderOutput,
    OrderSummaryOutput,
    ReturnInput,
    ReturnOutput,
)

TAGS = ["customer"]


class MeView(CustomerView):
    pagination_class = None

    @extend_schema(tags=TAGS, responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user).data)


class MyOrdersView(CustomerView):
    @extend_schema(tags=TAGS, responses=OrderSummaryOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(accounts.customer_orders(store=self.store, user=request.user))
        return self.get_paginated_response(OrderSummaryOutput(page, many=True).data)


class MyOrderView(CustomerView):
    @extend_schema(tags=TAGS, responses=OrderOutput)
    def get(self, request, number: str):
        order = accounts.customer_order(store=self.store, user=request.user, number=number[:32])
        if order is None:
            raise ApiError(_("No such order."), code="not_found", status_code=404)
        return Response(OrderOutput(order, context={"request": request}).data)


class MyAddressesView(CustomerView):
    @extend_schema(tags=TAGS, responses=AddressOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(Address.objects.filter(user=request.user).order_by("pk"))
        return self.get_paginated_response(AddressOutput(page, many=True).data)

    @extend_schema(tags=TAGS, request=AddressInput, responses={201: AddressOutput})
    def post(self, request):
        data = AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        with refusals():
            address = accounts.save_address(user=request.user, address=Address(**data.validated_data))
        return Response(AddressOutput(address).data, status=status.HTTP_201_CREATED)


class MyAddressView(CustomerView):
    def _get(self, request, pk) -> Address:
        address = Address.objects.filter(user=request.user, pk=pk).first()
        if address is None:
            raise ApiError(_("No such address."), code="not_found", status_code=404)
        return address

    @extend_schema(tags=TAGS, request=AddressInput(partial=True), responses=AddressOutput)
    def patch(self, request, pk: int):
        address = self._get(request, pk)
        current = {"country": address.country, "postal_code": address.postal_code, "tax_id": address.tax_id}
        data = AddressInput(data=request.data, partial=True, context={"current": current})
        data.is_valid(raise_exception=True)
        for name, value in data.validated_data.items():
            setattr(address, name, value)
        with refusals():
            accounts.save_address(user=request.user, address=address)
        return Response(AddressOutput(address).data)

    @extend_schema(tags=TAGS, responses={204: None})
    def delete(self, request, pk: int):
        address = self._get(request, pk)
        with refusals():
            accounts.delete_address(user=request.user, address=address)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyDownloadsView(CustomerView):
    @extend_schema(tags=TAGS, responses=DownloadOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(accounts.customer_downloads(store=self.store, user=request.user))
        return self.get_paginated_response(DownloadOutput(page, many=True, context={"request": request}).data)


class MyReturnsView(CustomerView):
    @extend_schema(tags=TAGS, responses=ReturnOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(accounts.customer_returns(store=self.store, user=request.user))
        return self.get_paginated_response(ReturnOutput(page, many=True).data)

    @extend_schema(tags=TAGS, request=ReturnInput, responses={201: ReturnOutput})
    def post(self, request):
        data = ReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = accounts.customer_order(store=self.store, user=request.user, number=values["order_number"])
        if order is None:
            # Another shopper's order is as unknown as a mistyped number (no IDOR oracle).
            raise ApiError(
                _("No such order."),
                code="not_found",
                status_code=404,
                fields={"order_number": [_("No such order.")]},
            )
        items: dict[int, int] = {}
        for line in values["lines"]:
            items[line["order_line_id"]] = items.get(line["order_line_id"], 0) + line["quantity"]
        with refusals():
            ret = returns.request_return(
                order=order,
                items=items,
                reason=values["reason"],
                comment=values.get("comment", ""),
                bank_account=values.get("bank_account", ""),
                user=request.user,
            )
        ret = accounts.customer_return(store=self.store, user=request.user, pk=ret.pk)
        return Response(ReturnOutput(ret).data, status=status.HTTP_201_CREATED)
