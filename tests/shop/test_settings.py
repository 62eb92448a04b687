"""Settings come from the environment; with nothing set, the embedded default needs no server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What manage.py does before any command (shop/embedded.py), then the settings as Django sees them.
PROBE = """
import json, django
from shop import embedded
embedded.prepare()
from django.conf import settings
django.setup()
print(json.dumps({
    "db_engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_host": settings.DATABASES["default"].get("HOST"),
    "db_user": settings.DATABASES["default"].get("USER"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"]["LOCATION"],
    "broker": settings.CELERY_BROKER_URL,
    "embedded_broker": settings.CELERY_EMBEDDED_BROKER,
    "email_backend": settings.EMAIL_BACKEND,
    "email_host": getattr(settings, "EMAIL_HOST", None),
    "email_port": getattr(settings, "EMAIL_PORT", None),
    "secret_key": settings.SECRET_KEY,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "site_url": settings.SITE_URL,
    "debug": settings.DEBUG,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "trusted_proxies": settings.TRUSTED_PROXIES,
    "drf_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
}))
"""

CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DEBUG",
    "SECURE_HTTPS",
    "VAR_DIR",
    # Set by the browser tests in the same worker; production never sets it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "TRUSTED_PROXIES",
    "API_NUM_PROXIES",
    "USE_X_FORWARDED_FOR",
    "USE_X_FORWARDED_PROTO",
)


def probe(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean.update({"DJANGO_SETTINGS_MODULE": "shop.settings", "VAR_DIR": str(tmp_path / "var"), **env})
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_needs_no_server(tmp_path):
    s = probe(tmp_path)
    assert s["db_engine"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "var" / "koszyk.sqlite3")
    assert s["cache"].endswith("FileBasedCache")
    assert s["broker"] == "filesystem://" and s["embedded_broker"] is True
    assert s["email_backend"] == "shop.mail.MailboxBackend"
    assert s["debug"] is False
    # A secret key is generated once into var/ and reused.
    assert len(s["secret_key"]) >= 50
    assert probe(tmp_path)["secret_key"] == s["secret_key"]
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_reading_the_settings_writes_no_file(tmp_path):
    """Only manage.py prepares var/: importing the settings (gunicorn with SECRET_KEY set, a tool,
    a read-only container) creates nothing, and without a prepared key each process gets its own."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean.update({"DJANGO_SETTINGS_MODULE": "shop.settings", "VAR_DIR": str(tmp_path / "var")})
    code = "import django; from django.conf import settings; django.setup(); print(settings.SECRET_KEY)"
    keys = [
        subprocess.run(
            [sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert not (tmp_path / "var").exists()
    assert len(keys[0]) >= 50 and keys[0] != keys[1]


def test_production_configuration_from_environment(tmp_path):
    s = probe(
        tmp_path,
        DATABASE_URL="postgres://shop:pw@db.internal:5432/koszyk",
        REDIS_URL="redis://cache.internal:6379/1",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.pl:587",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="sklep.example.pl,www.sklep.example.pl",
        SITE_URL="https://sklep.example.pl/",
    )
    assert s["db_engine"] == "django.db.backends.postgresql"
    assert (s["db_name"], s["db_host"], s["db_user"]) == ("koszyk", "db.internal", "shop")
    assert s["cache"].endswith("RedisCache") and s["cache_location"] == "redis://cache.internal:6379/1"
    assert s["broker"] == "redis://cache.internal:6379/0" and s["embedded_broker"] is False
    assert s["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["email_host"], s["email_port"]) == ("smtp.example.pl", 587)
    assert s["secret_key"] == "x" * 60
    assert s["allowed_hosts"] == ["sklep.example.pl", "www.sklep.example.pl"]
    assert s["site_url"] == "https://sklep.example.pl"
    assert s["ssl_redirect"] is True and s["hsts"] >= 31536000


def test_debug_turns_off_https_enforcement(tmp_path):
    s = probe(tmp_path, DEBUG="1")
    assert s["debug"] is True and s["ssl_redirect"] is False and s["hsts"] == 0


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="k8#Yv2!pQz7@Lm4$Wn9^Rt6&Ju3*Hs1(Gd5)Fa0_Xc8+Vb2=Ne7-Mo4~Pi6",
        ALLOWED_HOSTS="sklep.example.pl",
        DATABASE_URL="postgres://shop:pw@127.0.0.1:5432/koszyk",
        REDIS_URL="redis://127.0.0.1:6379/1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("bad", ["not-a-url", "mysql//broken"])
def test_malformed_database_url_fails_loudly(tmp_path, bad):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(DJANGO_SETTINGS_MODULE="shop.settings", VAR_DIR=str(tmp_path / "var"), DATABASE_URL=bad)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0


@pytest.mark.parametrize(
    ("env", "proxies", "trusts_proto"),
    [
        ({}, 0, False),
        ({"TRUSTED_PROXIES": "2"}, 2, True),
        # Deprecated names, read only while TRUSTED_PROXIES is unset.
        ({"API_NUM_PROXIES": "1"}, 1, True),
        ({"USE_X_FORWARDED_FOR": "true"}, 1, True),
        ({"USE_X_FORWARDED_PROTO": "true"}, 0, True),
        ({"TRUSTED_PROXIES": "0", "API_NUM_PROXIES": "3", "USE_X_FORWARDED_FOR": "true"}, 0, False),
    ],
)
def test_one_proxy_trust_setting(tmp_path, env, proxies, trusts_proto):
    s = probe(tmp_path, **env)
    assert s["trusted_proxies"] == s["drf_proxies"] == proxies
    assert (s["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]) is trusts_proto
