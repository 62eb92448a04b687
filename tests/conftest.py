"""Shared fixtures. Factories live beside the tests of their app (tests/<app>/factories.py)."""

import pytest

from tests.shop.factories import StoreFactory


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Tests never need collected static files, and write mail/media/private files to a temp dir.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAIL_DIR = tmp_path / "mail"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline by default (after commit, like in production); tests that need a real
    worker start one and switch this off themselves."""
    from shop.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    """The default store, answering on ``testserver`` (Django's test client host)."""
    return StoreFactory(domain="testserver", name="Sklep Testowy", is_default=True)
