"""Friendly error pages that never need the database (a 500 may mean the database is down)."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader


def not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))
