"""The orders app's REST API (mounted under /api/v1/ by :mod:`shop.api.urls`).

Shopper carts (``carts/…``), the customer's own data (``me/…``) and merchant order endpoints
(``manage/orders/…``).
"""

from django.urls import path


def urlpatterns():
    from . import carts, customer, manage

    return [
        path("carts/", carts.CartCreateView.as_view(), name="carts"),
        path("carts/<str:token>/", carts.CartDetailView.as_view(), name="cart"),
        path("carts/<str:token>/lines/", carts.CartLinesView.as_view(), name="cart-lines"),
        path("carts/<str:token>/lines/<int:line_id>/", carts.CartLineView.as_view(), name="cart-line"),
        path("carts/<str:token>/voucher/", carts.CartVoucherView.as_view(), name="cart-voucher"),
        path(
            "carts/<str:token>/shipping-methods/",
            carts.CartShippingMethodsView.as_view(),
            name="cart-shipping",
        ),
        path("carts/<str:token>/checkout/", carts.CartCheckoutView.as_view(), name="cart-checkout"),
        path("me/", customer.MeView.as_view(), name="me"),
        path("me/orders/", customer.MyOrdersView.as_view(), name="my-orders"),
        path("me/orders/<str:number>/", customer.MyOrderView.as_view(), name="my-order"),
        path("me/addresses/", customer.MyAddressesView.as_view(), name="my-addresses"),
        path("me/addresses/<int:pk>/", customer.MyAddressView.as_view(), name="my-address"),
        path("me/downloads/", customer.MyDownloadsView.as_view(), name="my-downloads"),
        path("me/returns/", customer.MyReturnsView.as_view(), name="my-returns"),
        path("manage/orders/", manage.ManageOrderListView.as_view(), name="manage-orders"),
        path("manage/orders/<int:pk>/", manage.ManageOrderDetailView.as_view(), name="manage-order"),
        path(
            "manage/orders/<int:pk>/status/",
            manage.ManageOrderStatusView.as_view(),
            name="manage-order-status",
        ),
        path("manage/orders/<int:pk>/ship/", manage.ManageOrderShipView.as_view(), name="manage-order-ship"),
    ]
