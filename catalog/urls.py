"""Storefront URLs (Polish paths): home, /k/ category, /p/ product, /g/ group, /szukaj/ search."""

from django.urls import path

from . import sitemaps, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("k/<slug:slug>/", views.category, name="category"),
    path("p/<slug:slug>/", views.product, name="product"),
    path("p/<slug:slug>/powiadom/", views.back_in_stock, name="back-in-stock"),
    path("g/<slug:slug>/", views.group, name="group"),
    path("szukaj/", views.search, name="search"),
    path("powiadomienia/potwierdz/<str:token>/", views.alert_confirm, name="alert-confirm"),
    path("powiadomienia/wypisz/<str:token>/", views.alert_unsubscribe, name="alert-unsubscribe"),
    path("pobierz/<str:token>/", views.download, name="download"),
    path("sitemap.xml", sitemaps.sitemap, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline, name="offline"),
]
