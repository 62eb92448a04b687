"""The Celery application. Tasks are discovered in every installed app's ``tasks`` module."""

import os

from celery import Celery

from shop import broker  # noqa: F401  (filesystem:// is the crash-safe transport of shop/broker.py)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("koszyk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
