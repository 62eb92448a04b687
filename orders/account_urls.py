"""/konto/: the customer account (included from orders/urls.py). Login and logout are the
checkout's (/konto/logowanie/, /konto/wyloguj/)."""

from django.urls import path

from . import account_views as views

app_name = "account"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("rejestracja/", views.register, name="register"),
    path("haslo/reset/", views.password_reset, name="password_reset"),
    path("haslo/reset/wyslano/", views.password_reset_done, name="password_reset_done"),
    path("haslo/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("haslo/reset/gotowe/", views.password_reset_complete, name="password_reset_complete"),
    path("email/potwierdz/", views.verify_email_send, name="verify_email_send"),
    path("email/potwierdz/<str:token>/", views.verify_email, name="verify_email"),
    path("zamowienia/dolacz/", views.attach_orders, name="attach_orders"),
    path("zamowienia/", views.order_list, name="orders"),
    path("zamowienia/<str:number>/", views.order_detail, name="order"),
    path("zamowienia/<str:number>/faktura/", views.invoice_download, name="invoice"),
    path("zamowienia/<str:number>/zwrot/", views.return_request, name="return_request"),
    path("zwroty/", views.return_list, name="returns"),
    path("zwroty/<int:pk>/", views.return_detail, name="return"),
    path("adresy/", views.address_list, name="addresses"),
    path("adresy/nowy/", views.address_edit, name="address_add"),
    path("adresy/<int:pk>/", views.address_edit, name="address_edit"),
    path("adresy/<int:pk>/usun/", views.address_delete, name="address_delete"),
    path("pliki/", views.downloads, name="downloads"),
    # Guests: the order's secret token stands for the login (linked from /zamowienie/<token>/).
    path("zamowienie/<str:token>/faktura/", views.guest_invoice_download, name="guest_invoice"),
    path("zamowienie/<str:token>/zwrot/", views.guest_return_request, name="guest_return_request"),
]
