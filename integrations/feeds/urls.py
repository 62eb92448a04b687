"""``/feeds/<id>-<token>.<xml|tsv>``: the secret URL of one product feed."""

from django.urls import re_path

from . import views

app_name = "feeds"

urlpatterns = [
    re_path(
        r"^(?P<pk>[0-9]{1,18})-(?P<token>[A-Za-z0-9_-]{1,64})\.(?P<ext>xml|tsv)$",
        views.serve_feed,
        name="serve",
    ),
]
