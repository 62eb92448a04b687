"""Storefront URL of the marketing tags (Polish path, like the rest of the storefront)."""

from django.urls import path

from . import views

app_name = "marketing"

urlpatterns = [
    path("zgody-cookies/", views.record_consent, name="consent-log"),
]
