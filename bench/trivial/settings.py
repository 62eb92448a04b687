"""``django-admin startproject`` defaults, trimmed to what serving one view needs.

The middleware list is startproject's default, so the ceiling pays the same per-request framework
cost a real project does (none of these middlewares touches the database for this view). The
database setting is there only because contrib.auth/sessions are installed; no query is made.
"""

SECRET_KEY = "bench-trivial-not-secret"  # noqa: S105 - a loopback-only benchmark
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "trivial.urls"
WSGI_APPLICATION = "trivial.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
LOGGING_CONFIG = None
