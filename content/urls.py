from django.urls import path

from . import views

app_name = "content"

urlpatterns = [
    path("strona/<slug:slug>/", views.page, name="page"),
    path("odstapienie-od-umowy/", views.withdrawal, name="withdrawal"),
    path("odstapienie-od-umowy/formularz.pdf", views.withdrawal_pdf, name="withdrawal-pdf"),
]
