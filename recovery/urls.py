from django.urls import path

from . import views

app_name = "recovery"
urlpatterns = [
    path("restore/<str:token>/", views.restore, name="restore"),
    path("restored/", views.restored, name="restored"),
    path("c/<str:token>/", views.click, name="click"),
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("tz/", views.shopper_timezone, name="timezone"),
    path("push/key/", views.push_key, name="push-key"),
    path("push/subscribe/", views.push_subscribe, name="push-subscribe"),
    path("push-sw.js", views.push_service_worker, name="push-sw"),
]
