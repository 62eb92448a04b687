"""Koszyk settings.

Everything an operator may tune comes from the environment (django-environ). With nothing set the
shop runs on its *embedded default*: SQLite, a file-system Celery broker, a file cache and mail
written to files, all under ``var/`` -- no external service needed. Set ``DATABASE_URL``,
``CELERY_BROKER_URL``, ``REDIS_URL`` and ``EMAIL_URL`` to run on real services. See
``docs/configuration.md`` for every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from shop import embedded
from shop import observability as _observability

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
embedded.read_dotenv()

# Nothing here writes a file or creates a directory: what writes into VAR_DIR creates its own
# directory, and the embedded default's secret key is created by manage.py (shop/embedded.py).
VAR_DIR = embedded.var_dir()

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG, 404s still show the shop's page (shop.errors.NotFoundPageMiddleware); this shows
# Django's technical 404 page, which lists every URL pattern, to a developer who asks for it.
DEBUG_TECHNICAL_404 = env.bool("DEBUG_TECHNICAL_404", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else the embedded default's ``var/secret_key`` (created
    once by manage.py), else a key for this process only (nothing signed by it outlives it)."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    path = embedded.secret_key_file()
    if path.exists():
        return path.read_text().strip()
    return secrets.token_urlsafe(64)


SECRET_KEY = _secret_key()
# Old keys while rotating SECRET_KEY: signatures made with them (sessions, links) and secrets
# encrypted under keys derived from them (shop/crypto.py) stay readable.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "shop",
    "shop.api",
    "catalog",
    "orders",
    "recovery",
    "integrations",
    "integrations.feeds",
    "integrations.channels",
    "integrations.accounting",
    "integrations.marketing",
    "reports",
    "customers",
    "branding",
    "django_prose_editor",  # the page editor of content (bundled JS, no CDN)
    "content",
]

MIDDLEWARE = [
    "shop.observability.RequestIdMiddleware",  # X-Request-ID in, out and in every log line / task
    "shop.metrics.MetricsMiddleware",  # latency and errors per resolved view (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "shop.security_headers.SecurityHeadersMiddleware",  # CSP (with a nonce) and Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shop.api.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shop.middleware.StoreMiddleware",
    "shop.middleware.StoreLocaleMiddleware",
    "catalog.redirects.RedirectMiddleware",  # a 404 of a moved page answers 301 (catalog/redirects.py)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integrations.marketing.middleware.CartEventsMiddleware",
    "shop.errors.NotFoundPageMiddleware",  # the shop's 404 page even with DEBUG on
    "recovery.timezones.ShopperTimezoneMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.store",
                "orders.context_processors.mini_cart",
                "catalog.context_processors.navigation",
                "integrations.marketing.context_processors.marketing",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'koszyk.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and the scheduler share the file without "database is
    # locked" errors; the timeout makes writers wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # BEGIN IMMEDIATE takes the write lock up front and waits for it (timeout), instead of
            # failing with "database is locked" when two processes upgrade read locks at once.
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "shop.cache.RedisCache",  # Django's, reusing its Redis client
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="koszyk"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="koszyk"),
        }
    }

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "shop.User"
AUTHENTICATION_BACKENDS = ["shop.auth.RateLimitedModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "orders:login"
LOGIN_REDIRECT_URL = "/"

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", _("Polish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Warsaw")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Private files (digital goods, invoices, backups) live outside MEDIA_ROOT: never served by URL.
PRIVATE_ROOT = Path(env.str("PRIVATE_ROOT", default=str(VAR_DIR / "private")))
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "shop.storage.PrivateFileSystemStorage"},
    "backups": {"BACKEND": "shop.storage.BackupFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Files on an S3-compatible object store (shop/storage.py, docs/operations.md "Files"): public
# media, private files (presigned links of at most 5 minutes, only behind the shop's checked
# views) and encrypted backups, each in its own bucket (backups default to the private bucket,
# under BACKUP_LOCATION). The embedded default keeps everything on this machine's disk.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
BACKUP_STORAGE = env.str("BACKUP_STORAGE", default=MEDIA_STORAGE)
PRIVATE_DOWNLOAD_REDIRECT = env.bool("PRIVATE_DOWNLOAD_REDIRECT", default=False)
PRIVATE_URL_EXPIRE_SECONDS = min(env.int("PRIVATE_URL_EXPIRE_SECONDS", default=60), 300)
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_MEDIA_BUCKET_NAME = env.str("AWS_MEDIA_BUCKET_NAME", default="")
AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None
AWS_PRIVATE_BUCKET_NAME = env.str("AWS_PRIVATE_BUCKET_NAME", default="")
AWS_PRIVATE_ACL = env.str("AWS_PRIVATE_ACL", default="private") or None
AWS_BACKUP_BUCKET_NAME = env.str("AWS_BACKUP_BUCKET_NAME", default="") or AWS_PRIVATE_BUCKET_NAME
BACKUP_LOCATION = env.str("BACKUP_LOCATION", default="backups").strip("/")
_S3 = {
    "endpoint_url": AWS_S3_ENDPOINT_URL,
    "region_name": AWS_S3_REGION_NAME,
    "addressing_style": AWS_S3_ADDRESSING_STYLE,
    "access_key": AWS_ACCESS_KEY_ID,
    "secret_key": AWS_SECRET_ACCESS_KEY,
}
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "shop.storage_s3.MediaS3Storage",
        "OPTIONS": {**_S3, "bucket_name": AWS_MEDIA_BUCKET_NAME, "custom_domain": AWS_S3_CUSTOM_DOMAIN},
    }
    STORAGES["private"] = {
        "BACKEND": "shop.storage_s3.PrivateS3Storage",
        "OPTIONS": {
            **_S3,
            "bucket_name": AWS_PRIVATE_BUCKET_NAME,
            "default_acl": AWS_PRIVATE_ACL,
            "querystring_expire": PRIVATE_URL_EXPIRE_SECONDS,
        },
    }
if BACKUP_STORAGE == "s3":
    STORAGES["backups"] = {
        "BACKEND": "shop.storage_s3.PrivateS3Storage",
        "OPTIONS": {
            **_S3,
            "bucket_name": AWS_BACKUP_BUCKET_NAME,
            "location": BACKUP_LOCATION,
            "default_acl": AWS_PRIVATE_ACL,
        },
    }
# Backups: encrypted (shop/crypto.py, purpose "backups"; BACKUP_ENCRYPTION_KEY, else SECRET_KEY),
# kept: the newest of each of the last BACKUP_KEEP_DAILY days and BACKUP_KEEP_WEEKLY ISO weeks.
BACKUP_ENCRYPTION_KEY = env.str("BACKUP_ENCRYPTION_KEY", default="")
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=env.int("BACKUP_KEEP", default=7))
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
# Media is served by the app only on the embedded default; production puts a web server or a
# bucket in front of MEDIA_ROOT.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
MAX_IMAGE_UPLOAD_BYTES = env.int("MAX_IMAGE_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- Email ----------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "shop.mail.MailboxBackend"
MAIL_DIR = Path(env.str("MAIL_DIR", default=str(VAR_DIR / "mail")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Koszyk <sklep@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ADMINS = [("Ops", a) for a in env.list("ADMINS", default=[])]

# --- Celery ---------------------------------------------------------------------------------
from kombu import Queue as _KombuQueue  # noqa: E402

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
if CELERY_EMBEDDED_BROKER:
    # shop/broker.py: kombu's file-system transport with atomic writes (tmp/ then os.replace into
    # queue/), unreadable files moved to quarantine/, and messages kept in claimed/ until acked.
    _celery_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "tmp_folder": str(_celery_dir / "tmp"),
        "claimed_folder": str(_celery_dir / "claimed"),
        "quarantine_folder": str(_celery_dir / "quarantine"),
        "store_processed": False,
        # How often the worker looks for new files, also between tasks when its processes are
        # busy (kombu's default, 1 s, caps a 2-process worker at a few short tasks a second).
        "polling_interval": env.float("CELERY_EMBEDDED_POLL_SECONDS", default=0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A checkout must not hang when the broker is down: publishing retries briefly, then the caller
# logs and moves on; the outbox sweep re-enqueues whatever was not delivered.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Lanes, so work a shopper waits for never queues behind slow work (docs/operations.md "Queues"):
#   celery    (the default) domain events (cart_updated, order.*), webhooks, anything unrouted
#   mail      e-mails a shopper waits for: order confirmations and updates, back-in-stock alerts
#   bulk      cart-recovery sends, queued hundreds at a time by the dispatcher
#   payments  refunds, payment expiry and notifications, stock holds, invoice PDFs
#   integrations  carriers, KSeF, marketplaces, accounting, wholesalers
#   slow      reports, product feeds, backups, clean-ups
# A worker started without -Q consumes every queue declared here (`manage.py serve` does so);
# compose runs one worker per group. Routes name each task exactly, default ones too
# (tests/shop/test_queues.py: every task of the shop has a lane, some worker consumes each).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_BULK_QUEUE = "bulk"
CELERY_LANES = {
    CELERY_TASK_DEFAULT_QUEUE: [
        "shop.tasks.deliver_event",
        "shop.tasks.sweep_events",
        "shop.api.webhooks.tasks.deliver_webhook",
        "shop.api.webhooks.tasks.deliver_due_webhooks",
        "recovery.tasks.detect_abandoned_carts",
        "recovery.tasks.dispatch_due_reminders",
    ],
    "mail": [
        "orders.tasks.send_order_email",
        "orders.tasks.resend_unsent_order_emails",
        "content.tasks.forward_contact_message",
        "catalog.tasks.send_back_in_stock_alerts",
    ],
    CELERY_BULK_QUEUE: ["recovery.tasks.send_reminder_task"],
    "payments": [
        "orders.tasks.refund_return",
        "orders.tasks.refund_cancelled_order",
        "orders.tasks.sweep_refunds",
        "orders.tasks.expire_unpaid_orders",
        "orders.tasks.sweep_reservations",
        "orders.tasks.test_gateway_notify",
        "orders.handlers.render_invoice_pdf",
    ],
    "integrations": [
        "orders.carriers.tasks.submit_shipment",
        "orders.carriers.tasks.poll_shipment",
        "orders.carriers.tasks.track_shipment",
        "orders.carriers.tasks.follow_shipments",
        "orders.ksef.tasks.submit_to_ksef",
        "orders.ksef.tasks.sweep_ksef",
        "integrations.channels.allegro.poll_device_flow",
        "integrations.channels.allegro.poll_offer_operations",
        "integrations.channels.allegro.update_offers",
        "integrations.accounting.send_document",
        "integrations.accounting.sweep_documents",
        "integrations.tasks.run_connector",
        "integrations.tasks.send_purchase_order",
        "integrations.tasks.retry_purchase_orders",
    ],
    "slow": [
        "reports.tasks.run_report_job",
        "reports.tasks.cleanup_report_files",
        "reports.tasks.requeue_stale_report_jobs",
        "integrations.feeds.tasks.generate_feed",
        "integrations.feeds.tasks.regenerate_changed",
        "shop.tasks.daily_backup",
        "catalog.tasks.generate_thumbnails",
        "integrations.tasks.cleanup_runs",
        "integrations.marketing.tasks.delete_old_consent_logs",
        "recovery.tasks.purge_recovery_data",
        "shop.api.webhooks.tasks.purge_api_records",
    ],
}
CELERY_TASK_QUEUES = [_KombuQueue(q) for q in CELERY_LANES]
CELERY_TASK_ROUTES = {task: {"queue": queue} for queue, tasks in CELERY_LANES.items() for task in tasks}

# --- Client address and rate limits (shop/ratelimit.py) --------------------------------------
# The one proxy-trust setting: how many proxies in front of the shop append to X-Forwarded-For
# (0: REMOTE_ADDR only; a client could write any address there). Every rate limit and recorded IP
# reads the client address this way, and with at least one proxy X-Forwarded-Proto (set by the
# proxy nearest the shop) says whether the request came over HTTPS. Deprecated names, read only
# while TRUSTED_PROXIES is unset: API_NUM_PROXIES (the same number), USE_X_FORWARDED_FOR=true (one
# proxy), and USE_X_FORWARDED_PROTO=true (X-Forwarded-Proto trusted, client address unchanged).
TRUSTED_PROXIES = env.int(
    "TRUSTED_PROXIES",
    default=env.int("API_NUM_PROXIES", default=1 if env.bool("USE_X_FORWARDED_FOR", default=False) else 0),
)
if TRUSTED_PROXIES > 0 or env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# While the cache (Redis) is unreachable, rate limits count in each process's memory; the cache
# is tried again after this many seconds.
RATELIMIT_CACHE_RETRY_SECONDS = env.float("RATELIMIT_CACHE_RETRY_SECONDS", default=5)
# Order placement attempts (storefront summary, API checkout, BLIK page) per client IP and per
# cart and e-mail address in a sliding window.
CHECKOUT_ATTEMPTS_PER_IP = env.int("CHECKOUT_ATTEMPTS_PER_IP", default=30)
CHECKOUT_ATTEMPTS_PER_CART = env.int("CHECKOUT_ATTEMPTS_PER_CART", default=10)
CHECKOUT_ATTEMPTS_WINDOW_SECONDS = env.int("CHECKOUT_ATTEMPTS_WINDOW_SECONDS", default=600)
# gunicorn's --timeout (gunicorn.conf.py reads the same variable): no request runs longer.
WEB_TIMEOUT_SECONDS = env.int("WEB_TIMEOUT_SECONDS", default=60)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "shop.api.schema.ExactAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shop.api.authentication.ApiKeyAuthentication",
        "shop.api.authentication.CustomerTokenAuthentication",
        "shop.api.authentication.SessionAuthentication",
    ],
    # Every view says who may call it (shop.api.views); forgetting to say means nobody.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "shop.api.throttling.IpRateThrottle",
        "shop.api.throttling.ApiKeyRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "ip": env.str("API_THROTTLE_IP", default="300/min"),
        "api_key": env.str("API_THROTTLE_KEY", default="1200/min"),
        "sensitive": env.str("API_THROTTLE_SENSITIVE", default="20/min"),
    },
    # Proxies trusted in X-Forwarded-For: the one setting, TRUSTED_PROXIES (shop/ratelimit.py).
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "shop.api.pagination.PagePagination",
    "EXCEPTION_HANDLER": "shop.api.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Koszyk API",
    "DESCRIPTION": "Headless storefront, shopper carts and checkout, customer accounts, merchant "
    "back office and webhooks. Guide: docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderChannelEnum": "orders.models.Order.Channel",
        "ProductKindEnum": "catalog.models.Product.Kind",
        # e-mail / SMS / web push, the channel of a reminder step (and of lost messages).
        "ContactChannelEnum": "recovery.models.campaigns.Channel",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "shop.api.schema.add_error_responses",
        "shop.api.schema.exact_requests",
    ],
}
# --- API and webhooks (shop.api; docs/api.md) ---------------------------------------------------
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=48)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=2 * 1024 * 1024)
API_MAX_URL_BYTES = env.int("API_MAX_URL_BYTES", default=4094)  # path + query; longer: JSON 414
API_BULK_MAX_ROWS = env.int("API_BULK_MAX_ROWS", default=1000)
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# An Idempotency-Key still "in progress" this long after its request began was left by a killed
# worker (gunicorn kills one after WEB_TIMEOUT_SECONDS): the next retry takes it over.
API_IDEMPOTENCY_STALE_SECONDS = env.int("API_IDEMPOTENCY_STALE_SECONDS", default=WEB_TIMEOUT_SECONDS + 10)
API_CUSTOMER_TOKEN_DAYS = env.int("API_CUSTOMER_TOKEN_DAYS", default=30)
WEBHOOK_ENCRYPTION_KEY = env.str("WEBHOOK_ENCRYPTION_KEY", default="")
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=2 * 3600)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=15)
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=24)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=30)
WEBHOOK_SWEEP_BATCH = env.int("WEBHOOK_SWEEP_BATCH", default=200)
WEBHOOK_RESPONSE_EXCERPT = env.int("WEBHOOK_RESPONSE_EXCERPT", default=1000)
WEBHOOK_LOG_RETENTION_DAYS = env.int("WEBHOOK_LOG_RETENTION_DAYS", default=30)
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=DEBUG)
# Receivers on private/loopback addresses (on-premise ERP, tests); off: SSRF protection.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=DEBUG)

# --- Security -------------------------------------------------------------------------------
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HTTPS)
LOGIN_RATE_LIMIT = env.int("LOGIN_RATE_LIMIT", default=10)  # failed attempts per window per IP/email
LOGIN_RATE_WINDOW = env.int("LOGIN_RATE_WINDOW", default=900)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# The language switch's cookie: sent over HTTPS only like the session's; no script reads it.
LANGUAGE_COOKIE_SECURE = SECURE_HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# Content-Security-Policy (shop/security_headers.py): enforced, or only reported when false.
CSP_ENFORCE = env.bool("CSP_ENFORCE", default=True)
CSP_REPORT_URI = env.str("CSP_REPORT_URI", default="/csp-report/")
# Extra sources for what the store's custom JavaScript loads (e.g. a chat widget's host).
CSP_EXTRA_SCRIPT_SRC = env.list("CSP_EXTRA_SCRIPT_SRC", default=[])
CSP_EXTRA_CONNECT_SRC = env.list("CSP_EXTRA_CONNECT_SRC", default=[])
CSP_EXTRA_FRAME_SRC = env.list("CSP_EXTRA_FRAME_SRC", default=[])
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 30)

# --- Shop behaviour -------------------------------------------------------------------------
# Without a Store whose domain matches the request's host, DEBUG falls back to the default store
# (so localhost works out of the box); production answers 404 "no shop at this address".
STORE_HOST_FALLBACK = env.bool("STORE_HOST_FALLBACK", default=DEBUG)
STORE_CACHE_SECONDS = env.int("STORE_CACHE_SECONDS", default=60)
EVENT_SWEEP_AFTER_SECONDS = env.int("EVENT_SWEEP_AFTER_SECONDS", default=60)
EVENT_MAX_ATTEMPTS = env.int("EVENT_MAX_ATTEMPTS", default=12)
HEALTHZ_TIMEOUT_SECONDS = env.float("HEALTHZ_TIMEOUT_SECONDS", default=2.0)

# --- Catalog --------------------------------------------------------------------------------
CATALOG_PAGE_SIZE = env.int("CATALOG_PAGE_SIZE", default=48)
CATALOG_NAV_CACHE_SECONDS = env.int("CATALOG_NAV_CACHE_SECONDS", default=3600)
CATALOG_SEARCH_MAX_LENGTH = env.int("CATALOG_SEARCH_MAX_LENGTH", default=100)
CATALOG_SEARCH_MAX_WORDS = env.int("CATALOG_SEARCH_MAX_WORDS", default=6)
# PostgreSQL: how similar (0-1, pg_trgm word similarity) a word must be to count as a typo match.
CATALOG_SEARCH_TRIGRAM_THRESHOLD = env.float("CATALOG_SEARCH_TRIGRAM_THRESHOLD", default=0.45)
CATALOG_OMNIBUS_DAYS = env.int("CATALOG_OMNIBUS_DAYS", default=30)
CATALOG_RELATED_LIMIT = env.int("CATALOG_RELATED_LIMIT", default=8)
CATALOG_THUMBNAIL_SIZES = tuple(env.list("CATALOG_THUMBNAIL_SIZES", cast=int, default=[96, 300, 600]))
CATALOG_MAX_IMAGE_PIXELS = env.int("CATALOG_MAX_IMAGE_PIXELS", default=40_000_000)
CATALOG_ALERT_RATE_LIMIT = env.int("CATALOG_ALERT_RATE_LIMIT", default=5)
CATALOG_ALERT_RATE_WINDOW_SECONDS = env.int("CATALOG_ALERT_RATE_WINDOW_SECONDS", default=3600)
CATALOG_ALERT_CONFIRM_MAX_AGE_SECONDS = env.int("CATALOG_ALERT_CONFIRM_MAX_AGE_SECONDS", default=7 * 86400)
CATALOG_ALERT_UNCONFIRMED_DAYS = env.int("CATALOG_ALERT_UNCONFIRMED_DAYS", default=14)
CATALOG_HOME_SECTION_SIZE = env.int("CATALOG_HOME_SECTION_SIZE", default=8)
# Cached catalog page bodies (catalog/pagecache.py): every catalog change invalidates them at once;
# this bounds only what no write announces (an unswept expired reservation). 0 turns it off.
CATALOG_PAGE_CACHE_SECONDS = env.int("CATALOG_PAGE_CACHE_SECONDS", default=300)
# Where the product page's "add to cart" form posts when orders has no named route for it.
CATALOG_CART_ADD_URL = env.str("CATALOG_CART_ADD_URL", default="/koszyk/dodaj/")
# Bump to make every installed service worker drop its caches.
CATALOG_SW_VERSION = env.str("CATALOG_SW_VERSION", default="1")

# --- Orders: cart, checkout, payments -------------------------------------------------------
# Online payments hold the order's stock this long, extended while the payment is pending, but
# never beyond RESERVATION_MAX_MINUTES after the order was placed.
RESERVATION_MINUTES = env.float("RESERVATION_MINUTES", default=15)
RESERVATION_MAX_MINUTES = env.float("RESERVATION_MAX_MINUTES", default=60)
# Bank transfer orders hold their stock this many days while the money travels.
BANK_TRANSFER_RESERVATION_DAYS = env.float("BANK_TRANSFER_RESERVATION_DAYS", default=3)
ORDER_NUMBER_PREFIX = env.str("ORDER_NUMBER_PREFIX", default="KS")
CART_MAX_LINE_QUANTITY = env.int("CART_MAX_LINE_QUANTITY", default=99)
CART_MAX_LINES = env.int("CART_MAX_LINES", default=100)
# Failed voucher/gift card code attempts per IP and per session before codes are refused.
CODE_ATTEMPTS_LIMIT = env.int("CODE_ATTEMPTS_LIMIT", default=10)
CODE_ATTEMPTS_WINDOW_SECONDS = env.int("CODE_ATTEMPTS_WINDOW_SECONDS", default=900)
GIFT_CARD_VALID_DAYS = env.int("GIFT_CARD_VALID_DAYS", default=365)
# Gift-card balance checks on the storefront, per IP and per code prefix (guessing protection).
GIFT_CARD_BALANCE_CHECKS_LIMIT = env.int("GIFT_CARD_BALANCE_CHECKS_LIMIT", default=10)
GIFT_CARD_BALANCE_CHECKS_WINDOW_SECONDS = env.int("GIFT_CARD_BALANCE_CHECKS_WINDOW_SECONDS", default=3600)
# Unsent order emails older than this are re-sent by the periodic task.
ORDER_EMAIL_RESEND_AFTER_SECONDS = env.int("ORDER_EMAIL_RESEND_AFTER_SECONDS", default=120)
ORDER_EMAIL_MAX_ATTEMPTS = env.int("ORDER_EMAIL_MAX_ATTEMPTS", default=10)
# The built-in test payment gateway: HMAC secret and how old a notification may be.
# Off unless DEBUG: the test gateway's page lets a shopper mark their own order paid (`check
# --deploy` warns when it is on); while off, test-gateway payment methods are not offered.
TEST_GATEWAY_ENABLED = env.bool("TEST_GATEWAY_ENABLED", default=DEBUG)
TEST_GATEWAY_SECRET = env.str("TEST_GATEWAY_SECRET", default=f"test-gateway:{SECRET_KEY}")
PAYMENT_NOTIFICATION_TOLERANCE_SECONDS = env.int("PAYMENT_NOTIFICATION_TOLERANCE_SECONDS", default=300)
PAYMENT_NOTIFICATION_TIMEOUT_SECONDS = env.float("PAYMENT_NOTIFICATION_TIMEOUT_SECONDS", default=10)
# Payment gateways (docs/payments.md): credentials live per store in the admin (GatewayAccount);
# base URLs are settings so tests and staging can point them at fakes.
PRZELEWY24_URL = env.str("PRZELEWY24_URL", default="https://secure.przelewy24.pl")
PRZELEWY24_SANDBOX_URL = env.str("PRZELEWY24_SANDBOX_URL", default="https://sandbox.przelewy24.pl")
PAYU_URL = env.str("PAYU_URL", default="https://secure.payu.com")
PAYU_SANDBOX_URL = env.str("PAYU_SANDBOX_URL", default="https://secure.snd.payu.com")
STRIPE_API_URL = env.str("STRIPE_API_URL", default="https://api.stripe.com")
PAYMENT_GATEWAY_TIMEOUT_SECONDS = env.float("PAYMENT_GATEWAY_TIMEOUT_SECONDS", default=15)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# BLIK level 0 at Przelewy24 (docs/payments.md): offered when the store's P24 account has BLIK
# switched on (its "blik" setting, else this opt-in default: BLIK level 0 is a separate service at
# P24); attempts per order and per IP in a window; how long the
# waiting page waits for the bank app's confirmation before offering a new code; poll interval.
PRZELEWY24_BLIK_ENABLED = env.bool("PRZELEWY24_BLIK_ENABLED", default=False)
BLIK_ATTEMPTS_PER_ORDER = env.int("BLIK_ATTEMPTS_PER_ORDER", default=5)
BLIK_ATTEMPTS_PER_IP = env.int("BLIK_ATTEMPTS_PER_IP", default=20)
BLIK_ATTEMPTS_WINDOW_SECONDS = env.int("BLIK_ATTEMPTS_WINDOW_SECONDS", default=900)
BLIK_CONFIRM_SECONDS = env.int("BLIK_CONFIRM_SECONDS", default=120)
BLIK_POLL_SECONDS = env.float("BLIK_POLL_SECONDS", default=3)
# Parcel lockers (docs/shipping.md): the public InPost points API, the Geowidget v5 map (shown
# only with a token from the InPost manager), caching and limits of the locker search.
INPOST_POINTS_API_URL = env.str("INPOST_POINTS_API_URL", default="https://api-shipx-pl.easypack24.net")
INPOST_POINTS_VALIDATE = env.bool("INPOST_POINTS_VALIDATE", default=True)
INPOST_POINTS_TIMEOUT_SECONDS = env.float("INPOST_POINTS_TIMEOUT_SECONDS", default=4)
INPOST_POINTS_RETRIES = env.int("INPOST_POINTS_RETRIES", default=1)
INPOST_POINTS_CACHE_SECONDS = env.int("INPOST_POINTS_CACHE_SECONDS", default=600)
INPOST_POINTS_OUTAGE_SECONDS = env.int("INPOST_POINTS_OUTAGE_SECONDS", default=60)
INPOST_POINTS_PER_PAGE = env.int("INPOST_POINTS_PER_PAGE", default=8)
INPOST_POINTS_MAX_PER_PAGE = env.int("INPOST_POINTS_MAX_PER_PAGE", default=25)
INPOST_POINTS_MAX_RESPONSE_BYTES = env.int("INPOST_POINTS_MAX_RESPONSE_BYTES", default=2_000_000)
INPOST_POINTS_SEARCH_RATE_LIMIT = env.int("INPOST_POINTS_SEARCH_RATE_LIMIT", default=60)  # per IP
INPOST_POINTS_SEARCH_RATE_WINDOW = env.int("INPOST_POINTS_SEARCH_RATE_WINDOW", default=300)
INPOST_GEOWIDGET_TOKEN = env.str("INPOST_GEOWIDGET_TOKEN", default="")
INPOST_GEOWIDGET_URL = env.str("INPOST_GEOWIDGET_URL", default="https://geowidget.inpost.pl")
# Refunds through the gateway start by themselves when a return is accepted or a paid order is
# cancelled; a gateway that is unreachable is asked again with backoff, then by the sweep.
ORDERS_AUTO_REFUND_RETURNS = env.bool("ORDERS_AUTO_REFUND_RETURNS", default=True)
ORDERS_AUTO_REFUND_CANCELLATIONS = env.bool("ORDERS_AUTO_REFUND_CANCELLATIONS", default=True)
ORDERS_REFUND_RETRIES = env.int("ORDERS_REFUND_RETRIES", default=6)
ORDERS_REFUND_SWEEP_SECONDS = env.int("ORDERS_REFUND_SWEEP_SECONDS", default=600)
# After-sales: how long after delivery (or shipping, when delivery is unknown) a shopper may ask
# for a return; the invoice number pattern (per store and month, no gaps); account rate limits.
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=14)
INVOICE_NUMBER_FORMAT = env.str("INVOICE_NUMBER_FORMAT", default="FV/{year}/{month:02d}/{sequence:04d}")
INVOICE_CORRECTION_NUMBER_FORMAT = env.str(
    "INVOICE_CORRECTION_NUMBER_FORMAT", default="KOR/{year}/{month:02d}/{sequence:04d}"
)
# KSeF (orders/ksef, docs/configuration.md): the default environment of a store's KSeF connection
# (test, demo or prod; a store may choose its own in the admin), request timeout (s), the pause
# between status checks (s), and the first retry delay (s, doubled per attempt up to an hour).
# KSEF_API_URLS / KSEF_QR_URLS override the official base URLs per environment (tests, proxies).
KSEF_ENVIRONMENT = env.str("KSEF_ENVIRONMENT", default="test")
KSEF_TIMEOUT = env.float("KSEF_TIMEOUT", default=20.0)
KSEF_POLL_INTERVAL = env.float("KSEF_POLL_INTERVAL", default=1.0)
KSEF_RETRY_SECONDS = env.int("KSEF_RETRY_SECONDS", default=60)
KSEF_API_URLS: dict[str, str] = {}
KSEF_QR_URLS: dict[str, str] = {}
ACCOUNT_FORM_RATE_LIMIT = env.int("ACCOUNT_FORM_RATE_LIMIT", default=10)  # per IP per window
ACCOUNT_FORM_RATE_WINDOW = env.int("ACCOUNT_FORM_RATE_WINDOW", default=3600)
ACCOUNT_RESET_PER_EMAIL_LIMIT = env.int(
    "ACCOUNT_RESET_PER_EMAIL_LIMIT", default=3
)  # mails per address per window
ACCOUNT_VERIFY_EMAIL_RESENDS = env.int("ACCOUNT_VERIFY_EMAIL_RESENDS", default=3)  # per account per window
ACCOUNT_VERIFY_EMAIL_MAX_AGE = env.int(
    "ACCOUNT_VERIFY_EMAIL_MAX_AGE", default=3 * 24 * 3600
)  # link validity, s
# Admin order search: matches up to this many ids are looked up first, more use a subquery.
ORDER_SEARCH_ID_LIMIT = env.int("ORDER_SEARCH_ID_LIMIT", default=2000)
# Carriers (docs/shipping.md): credentials per store in the admin (CarrierAccount); base URLs are
# settings so tests and staging can point them at fakes. Delays are seconds.
INPOST_SHIPX_URL = env.str("INPOST_SHIPX_URL", default="https://api-shipx-pl.easypack24.net")
INPOST_SHIPX_SANDBOX_URL = env.str(
    "INPOST_SHIPX_SANDBOX_URL", default="https://sandbox-api-shipx-pl.easypack24.net"
)
APACZKA_URL = env.str("APACZKA_URL", default="https://www.apaczka.pl")
APACZKA_SANDBOX_URL = env.str("APACZKA_SANDBOX_URL", default="https://www.apaczka.pl")
APACZKA_SIGNATURE_TTL_SECONDS = env.int("APACZKA_SIGNATURE_TTL_SECONDS", default=900)  # at most 1800
APACZKA_LOOKUP_PAGES = env.int("APACZKA_LOOKUP_PAGES", default=4)  # x 25 newest orders searched
CARRIER_HTTP_TIMEOUT_SECONDS = env.float("CARRIER_HTTP_TIMEOUT_SECONDS", default=20)
CARRIER_HTTP_CONNECT_TIMEOUT_SECONDS = env.float("CARRIER_HTTP_CONNECT_TIMEOUT_SECONDS", default=5)
CARRIER_HTTP_RETRIES = env.int("CARRIER_HTTP_RETRIES", default=2)  # reads only; creates are never
CARRIER_HTTP_BACKOFF_SECONDS = env.float("CARRIER_HTTP_BACKOFF_SECONDS", default=1)
CARRIER_RATE_PER_SECOND = env.float("CARRIER_RATE_PER_SECOND", default=5)  # per carrier account
CARRIER_LABEL_MAX_BYTES = env.int("CARRIER_LABEL_MAX_BYTES", default=20 * 1024 * 1024)
CARRIER_SUBMIT_MAX_ATTEMPTS = env.int("CARRIER_SUBMIT_MAX_ATTEMPTS", default=5)
CARRIER_SUBMIT_RETRY_SECONDS = env.int("CARRIER_SUBMIT_RETRY_SECONDS", default=60)
CARRIER_CONFIRM_POLL_SECONDS = env.int("CARRIER_CONFIRM_POLL_SECONDS", default=5)
CARRIER_CONFIRM_MAX_POLLS = env.int("CARRIER_CONFIRM_MAX_POLLS", default=10)
CARRIER_CONFIRM_MAX_BACKOFF_SECONDS = env.int("CARRIER_CONFIRM_MAX_BACKOFF_SECONDS", default=600)
CARRIER_STALE_SENDING_SECONDS = env.int("CARRIER_STALE_SENDING_SECONDS", default=600)
CARRIER_TRACKING_INTERVAL_SECONDS = env.int("CARRIER_TRACKING_INTERVAL_SECONDS", default=1800)
CARRIER_TRACKING_MIN_AGE_SECONDS = env.int("CARRIER_TRACKING_MIN_AGE_SECONDS", default=1200)
CARRIER_TRACKING_BATCH = env.int("CARRIER_TRACKING_BATCH", default=200)
CARRIER_MAX_ORDERS_PER_BATCH = env.int("CARRIER_MAX_ORDERS_PER_BATCH", default=100)

# --- Cart recovery (recovery app; docs/recovery.md explains every one) -----------------------
RECOVERY_IDLE_MINUTES = env.float("RECOVERY_IDLE_MINUTES", default=30)
RECOVERY_DELAY_SCALE = env.float("RECOVERY_DELAY_SCALE", default=1.0)
RECOVERY_RESTORE_TOKEN_DAYS = env.float("RECOVERY_RESTORE_TOKEN_DAYS", default=14)
RECOVERY_ATTRIBUTION_DAYS = env.float("RECOVERY_ATTRIBUTION_DAYS", default=5)
RECOVERY_QUIET_HOURS = env.str("RECOVERY_QUIET_HOURS", default="21:00-08:00")
RECOVERY_FREQUENCY_CAP_HOURS = env.float("RECOVERY_FREQUENCY_CAP_HOURS", default=24)
RECOVERY_MAX_STEPS_PER_CART = env.int("RECOVERY_MAX_STEPS_PER_CART", default=3)
RECOVERY_RETENTION_DAYS = env.int("RECOVERY_RETENTION_DAYS", default=90)
RECOVERY_CART_EXPIRY_DAYS = env.float("RECOVERY_CART_EXPIRY_DAYS", default=30)
RECOVERY_LOOKBACK_DAYS = env.float("RECOVERY_LOOKBACK_DAYS", default=7)
RECOVERY_BATCH_SIZE = env.int("RECOVERY_BATCH_SIZE", default=500)
RECOVERY_DETECTION_OVERLAP_MINUTES = env.float("RECOVERY_DETECTION_OVERLAP_MINUTES", default=10)
RECOVERY_DETECT_EVERY_SECONDS = env.int("RECOVERY_DETECT_EVERY_SECONDS", default=60)
RECOVERY_DISPATCH_EVERY_SECONDS = env.int("RECOVERY_DISPATCH_EVERY_SECONDS", default=30)
RECOVERY_SEND_LEASE_SECONDS = env.int("RECOVERY_SEND_LEASE_SECONDS", default=300)
RECOVERY_QUEUE_LEASE_SECONDS = env.int("RECOVERY_QUEUE_LEASE_SECONDS", default=600)
RECOVERY_MAX_ATTEMPTS = env.int("RECOVERY_MAX_ATTEMPTS", default=8)
RECOVERY_RETRY_BASE_SECONDS = env.float("RECOVERY_RETRY_BASE_SECONDS", default=60)
RECOVERY_RETRY_MAX_SECONDS = env.float("RECOVERY_RETRY_MAX_SECONDS", default=6 * 3600)
RECOVERY_SMTP_IDLE_CHECK_SECONDS = env.float("RECOVERY_SMTP_IDLE_CHECK_SECONDS", default=15)
RECOVERY_SOCIAL_PROOF_DAYS = env.int("RECOVERY_SOCIAL_PROOF_DAYS", default=7)
RECOVERY_SOCIAL_PROOF_MIN = env.int("RECOVERY_SOCIAL_PROOF_MIN", default=3)
RECOVERY_URGENCY_MAX_UNITS = env.int("RECOVERY_URGENCY_MAX_UNITS", default=5)
RECOVERY_RECOMMENDATIONS = env.int("RECOVERY_RECOMMENDATIONS", default=3)
RECOVERY_SMS_PROVIDER = env.str("RECOVERY_SMS_PROVIDER", default="")  # "", "console" or "smsapi"
SMSAPI_URL = env.str("SMSAPI_URL", default="https://api.smsapi.pl").rstrip("/")
SMSAPI_TOKEN = env.str("SMSAPI_TOKEN", default="")
SMSAPI_SENDER = env.str("SMSAPI_SENDER", default="")
SMSAPI_TIMEOUT = env.float("SMSAPI_TIMEOUT", default=10)
SMSAPI_TEST_MODE = env.bool("SMSAPI_TEST_MODE", default=False)
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:sklep@localhost")
RECOVERY_PUSH_TIMEOUT = env.float("RECOVERY_PUSH_TIMEOUT", default=10)

# --- Integrations (connectors, wholesaler feeds; docs/integrations.md explains every one) -----
# Fernet key for connector secrets. Empty: derived from SECRET_KEY with HKDF (rotating SECRET_KEY
# then makes stored secrets unreadable: set this explicitly in production).
INTEGRATIONS_ENCRYPTION_KEY = env.str("INTEGRATIONS_ENCRYPTION_KEY", default="")
INTEGRATIONS_MAX_FEED_BYTES = env.int("INTEGRATIONS_MAX_FEED_BYTES", default=2 * 1024**3)
INTEGRATIONS_HTTP_TIMEOUT = env.float("INTEGRATIONS_HTTP_TIMEOUT", default=30.0)
INTEGRATIONS_HTTP_CONNECT_TIMEOUT = env.float("INTEGRATIONS_HTTP_CONNECT_TIMEOUT", default=10.0)
INTEGRATIONS_HTTP_RETRIES = env.int("INTEGRATIONS_HTTP_RETRIES", default=3)
INTEGRATIONS_HTTP_BACKOFF_SECONDS = env.float("INTEGRATIONS_HTTP_BACKOFF_SECONDS", default=1.0)
INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS = env.float("INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS", default=60.0)
INTEGRATIONS_RATE_PER_SECOND = env.float("INTEGRATIONS_RATE_PER_SECOND", default=5.0)
INTEGRATIONS_RATE_BURST = env.int("INTEGRATIONS_RATE_BURST", default=10)
INTEGRATIONS_BREAKER_THRESHOLD = env.int("INTEGRATIONS_BREAKER_THRESHOLD", default=5)
INTEGRATIONS_BREAKER_COOLDOWN_SECONDS = env.float("INTEGRATIONS_BREAKER_COOLDOWN_SECONDS", default=300.0)
INTEGRATIONS_BATCH_SIZE = env.int("INTEGRATIONS_BATCH_SIZE", default=1000)
INTEGRATIONS_RUN_STALE_SECONDS = env.int("INTEGRATIONS_RUN_STALE_SECONDS", default=1800)
INTEGRATIONS_ENCODING_SAMPLE_BYTES = env.int("INTEGRATIONS_ENCODING_SAMPLE_BYTES", default=65536)
INTEGRATIONS_MAX_ERRORS_PER_RUN = env.int("INTEGRATIONS_MAX_ERRORS_PER_RUN", default=10000)
INTEGRATIONS_RUN_RETENTION_DAYS = env.int("INTEGRATIONS_RUN_RETENTION_DAYS", default=90)
# Sales channels (marketplaces, hubs): how often due stock/price changes are pushed (the
# debounce interval) and orders imported, by default; each connector can override both.
CHANNELS_PUSH_EVERY_SECONDS = env.int("CHANNELS_PUSH_EVERY_SECONDS", default=120)
CHANNELS_ORDERS_EVERY_SECONDS = env.int("CHANNELS_ORDERS_EVERY_SECONDS", default=300)
CHANNELS_MAX_PUSHED_QUANTITY = env.int("CHANNELS_MAX_PUSHED_QUANTITY", default=999)
CHANNELS_MAX_ORDER_PAGES = env.int("CHANNELS_MAX_ORDER_PAGES", default=50)
CHANNELS_MAX_RESPONSE_BYTES = env.int("CHANNELS_MAX_RESPONSE_BYTES", default=50 * 1024**2)
# BaseLinker answers ERROR with a limit code past 100 requests a minute: wait, then try again.
CHANNELS_BASELINKER_LIMIT_WAIT_SECONDS = env.float("CHANNELS_BASELINKER_LIMIT_WAIT_SECONDS", default=60)
CHANNELS_BASELINKER_LIMIT_RETRIES = env.int("CHANNELS_BASELINKER_LIMIT_RETRIES", default=3)
CHANNELS_BASELINKER_MAX_PRODUCT_PAGES = env.int("CHANNELS_BASELINKER_MAX_PRODUCT_PAGES", default=200)
# OAuth tokens (Zalando, Google) are renewed this many seconds before they expire.
CHANNELS_TOKEN_MARGIN_SECONDS = env.int("CHANNELS_TOKEN_MARGIN_SECONDS", default=60)
INTEGRATIONS_PO_MAX_ATTEMPTS = env.int("INTEGRATIONS_PO_MAX_ATTEMPTS", default=8)
INTEGRATIONS_PO_RETRY_BASE_SECONDS = env.float("INTEGRATIONS_PO_RETRY_BASE_SECONDS", default=120)
INTEGRATIONS_PO_RETRY_EVERY_SECONDS = env.int("INTEGRATIONS_PO_RETRY_EVERY_SECONDS", default=300)
# Image URLs come from third-party feeds: refuse ones pointing into private networks (SSRF).
INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS = env.bool("INTEGRATIONS_IMAGE_ALLOW_PRIVATE_HOSTS", default=False)
# Product feeds (integrations.feeds): variants read per chunk, debounce of stock changes (quiet
# period, longest wait, how often the sweep looks), stale-run takeover, stored warnings and runs.
FEEDS_CHUNK_SIZE = env.int("FEEDS_CHUNK_SIZE", default=2000)
FEEDS_CHANGE_QUIET_SECONDS = env.int("FEEDS_CHANGE_QUIET_SECONDS", default=120)
FEEDS_CHANGE_MAX_DELAY_SECONDS = env.int("FEEDS_CHANGE_MAX_DELAY_SECONDS", default=900)
FEEDS_CHANGE_SWEEP_SECONDS = env.int("FEEDS_CHANGE_SWEEP_SECONDS", default=60)
FEEDS_RUN_STALE_SECONDS = env.int("FEEDS_RUN_STALE_SECONDS", default=1800)
FEEDS_MAX_STORED_WARNINGS = env.int("FEEDS_MAX_STORED_WARNINGS", default=500)
FEEDS_RUNS_KEPT = env.int("FEEDS_RUNS_KEPT", default=50)
FEEDS_GZIP_LEVEL = env.int("FEEDS_GZIP_LEVEL", default=6)
# Accounting and POS documents (integrations.accounting): attempts before a document fails, the
# backoff between them, how often the sweep sends what is due, and where POS receipt files go.
ACCOUNTING_MAX_ATTEMPTS = env.int("ACCOUNTING_MAX_ATTEMPTS", default=8)
ACCOUNTING_RETRY_BASE_SECONDS = env.float("ACCOUNTING_RETRY_BASE_SECONDS", default=60)
ACCOUNTING_RETRY_MAX_SECONDS = env.float("ACCOUNTING_RETRY_MAX_SECONDS", default=6 * 3600)
ACCOUNTING_SWEEP_EVERY_SECONDS = env.int("ACCOUNTING_SWEEP_EVERY_SECONDS", default=300)
ACCOUNTING_SWEEP_BATCH = env.int("ACCOUNTING_SWEEP_BATCH", default=200)
ACCOUNTING_POS_DROP_ROOT = Path(env.str("ACCOUNTING_POS_DROP_ROOT", default=str(VAR_DIR / "pos-drop")))
# Allegro (integrations/channels/allegro; docs/integrations.md "Allegro").
ALLEGRO_COMMAND_BATCH_SIZE = env.int("ALLEGRO_COMMAND_BATCH_SIZE", default=1000)  # offers per command
ALLEGRO_COMMAND_POLL_ATTEMPTS = env.int("ALLEGRO_COMMAND_POLL_ATTEMPTS", default=6)
ALLEGRO_COMMAND_POLL_SECONDS = env.float("ALLEGRO_COMMAND_POLL_SECONDS", default=2.0)
ALLEGRO_OPERATION_POLL_SECONDS = env.float("ALLEGRO_OPERATION_POLL_SECONDS", default=5.0)
ALLEGRO_OPERATION_GIVE_UP_SECONDS = env.int("ALLEGRO_OPERATION_GIVE_UP_SECONDS", default=6 * 3600)
ALLEGRO_EVENTS_PAGE_SIZE = env.int("ALLEGRO_EVENTS_PAGE_SIZE", default=100)  # Allegro allows 1..1000
ALLEGRO_TOKEN_REFRESH_MARGIN_SECONDS = env.int("ALLEGRO_TOKEN_REFRESH_MARGIN_SECONDS", default=300)

# Marketing tags and the cookie-consent banner (integrations.marketing; docs/integrations.md
# "Marketing tags"): the consent cookie's name, version (bump to ask everyone again), lifetime and
# Consent Mode's wait; hosts a review-widget script may come from (https, the host or a subdomain);
# the per-store tag configuration cache; how long a purchase may still be reported after placing;
# how long consent proofs are kept and how many one IP may record per hour; caps on the cart events
# carried to the next page and the items in one event (GA4 accepts 200).
MARKETING_CONSENT_COOKIE = env.str("MARKETING_CONSENT_COOKIE", default="koszyk_consent")
MARKETING_CONSENT_VERSION = env.int("MARKETING_CONSENT_VERSION", default=1)
MARKETING_CONSENT_MAX_AGE_DAYS = env.int("MARKETING_CONSENT_MAX_AGE_DAYS", default=365)
MARKETING_CONSENT_WAIT_FOR_UPDATE_MS = env.int("MARKETING_CONSENT_WAIT_FOR_UPDATE_MS", default=500)
MARKETING_REVIEW_WIDGET_HOSTS = env.list(
    "MARKETING_REVIEW_WIDGET_HOSTS",
    default=["widgets.trustedshops.com", "integrations.etrusted.com", "trustmate.io", "ceneo.pl"],
)
MARKETING_SETTINGS_CACHE_SECONDS = env.int("MARKETING_SETTINGS_CACHE_SECONDS", default=3600)
MARKETING_PURCHASE_WINDOW_HOURS = env.int("MARKETING_PURCHASE_WINDOW_HOURS", default=48)
MARKETING_CONSENT_LOG_RETENTION_DAYS = env.int("MARKETING_CONSENT_LOG_RETENTION_DAYS", default=1095)
MARKETING_CONSENT_LOG_RATE_LIMIT = env.int("MARKETING_CONSENT_LOG_RATE_LIMIT", default=30)
MARKETING_MAX_PENDING_EVENTS = env.int("MARKETING_MAX_PENDING_EVENTS", default=10)
MARKETING_MAX_EVENT_ITEMS = env.int("MARKETING_MAX_EVENT_ITEMS", default=200)

# --- Reports (reports app; docs/reports.md explains every one) ----------------------------------
# Exports with more rows than this run as a background job (progress in the admin, email when
# done); smaller ones download at once.
REPORTS_ASYNC_THRESHOLD_ROWS = env.int("REPORTS_ASYNC_THRESHOLD_ROWS", default=5000)
# WeasyPrint lays out a whole PDF in memory: larger PDFs are refused (XLSX/CSV have no cap).
REPORTS_PDF_MAX_ROWS = env.int("REPORTS_PDF_MAX_ROWS", default=5000)
# Longest date range per granularity (days); order, stock and recovery reports use the monthly cap.
REPORTS_MAX_RANGE_DAYS = env.int("REPORTS_MAX_RANGE_DAYS", default=3660)
REPORTS_MAX_RANGE_DAYS_WEEKLY = env.int("REPORTS_MAX_RANGE_DAYS_WEEKLY", default=1830)
REPORTS_MAX_RANGE_DAYS_DAILY = env.int("REPORTS_MAX_RANGE_DAYS_DAILY", default=366)
REPORTS_MIN_DATE = env.str("REPORTS_MIN_DATE", default="2000-01-01")  # ISO date
REPORTS_CHUNK_SIZE = env.int("REPORTS_CHUNK_SIZE", default=2000)
REPORTS_TOP_N = env.int("REPORTS_TOP_N", default=10)
REPORTS_MAX_SERIES = env.int("REPORTS_MAX_SERIES", default=8)
REPORTS_PRODUCT_OPTIONS_LIMIT = env.int("REPORTS_PRODUCT_OPTIONS_LIMIT", default=300)
REPORTS_KEEP_DAYS = env.int("REPORTS_KEEP_DAYS", default=30)
REPORTS_JOB_STALE_SECONDS = env.int("REPORTS_JOB_STALE_SECONDS", default=3600)
REPORTS_REFRESH_SECONDS = env.int("REPORTS_REFRESH_SECONDS", default=3)

# Observability (docs/operations.md): logs as text or one JSON object per line, each with the
# request id; Sentry only with a DSN; /metrics only with a token.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").lower()
LOGGING = _observability.logging_config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
_observability.init_sentry(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
