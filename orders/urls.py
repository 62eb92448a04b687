"""Storefront URLs of the orders app (Polish paths)."""

from django.urls import include, path

from .views import account, blik, cart, checkout, gift_cards, payments, pickup_points

app_name = "orders"

urlpatterns = [
    path("koszyk/", cart.cart_detail, name="cart"),
    path("koszyk/dodaj/", cart.cart_add, name="cart-add"),
    path("koszyk/linia/<int:line_id>/", cart.cart_update, name="cart-update"),
    path("koszyk/linia/<int:line_id>/usun/", cart.cart_remove, name="cart-remove"),
    path("koszyk/kod/", cart.cart_code, name="cart-code"),
    path("koszyk/kod/usun/", cart.cart_code_remove, name="cart-code-remove"),
    path("karta-podarunkowa/", gift_cards.gift_card_balance_view, name="gift-card-balance"),
    path("zamowienie/", checkout.checkout_contact, name="checkout"),
    path("zamowienie/email/", checkout.checkout_email, name="checkout-email"),
    path("zamowienie/dostawa/", checkout.checkout_delivery, name="checkout-delivery"),
    path("zamowienie/podsumowanie/", checkout.checkout_summary, name="checkout-summary"),
    path("zamowienie/paczkomaty/", pickup_points.pickup_point_search, name="pickup-points"),
    path("zamowienie/<str:token>/", checkout.order_detail, name="order"),
    path("zamowienie/<str:token>/blik/", blik.blik_pay, name="order-blik"),
    path("zamowienie/<str:token>/blik/potwierdz/", blik.blik_waiting, name="order-blik-waiting"),
    path("zamowienie/<str:token>/status/", blik.order_payment_status, name="order-payment-status"),
    path("zamowienie/<str:token>/zaplac/", checkout.order_pay, name="order-pay"),
    path("platnosc/test/<str:ref>/", payments.test_gateway_page, name="test-gateway"),
    path("platnosc/powrot/<str:ref>/", payments.payment_return, name="payment-return"),
    path("platnosc/webhook/<slug:provider>/", payments.payment_webhook, name="payment-webhook"),
    path("konto/logowanie/", account.login_view, name="login"),
    path("konto/wyloguj/", account.logout_view, name="logout"),
    path("konto/", include("orders.account_urls")),
]
