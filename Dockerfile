# Koszyk production image: one image for web (gunicorn), worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/data \
    MEDIA_ROOT=/data/media \
    PRIVATE_ROOT=/data/private \
    BACKUP_DIR=/data/backups \
    STATIC_ROOT=/app/staticfiles

# WeasyPrint needs Pango; pg_dump/pg_restore for backups; gettext for compilemessages.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
      postgresql-client gettext curl \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 koszyk && mkdir -p /data /app && chown koszyk:koszyk /data /app
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY --chown=koszyk:koszyk . .

# Static files are collected at build time (no secrets needed for that).
RUN SECRET_KEY=build-only-not-secret DEBUG=0 VAR_DIR=/tmp/build-var python manage.py collectstatic --noinput \
 && SECRET_KEY=build-only-not-secret VAR_DIR=/tmp/build-var python manage.py compilemessages >/dev/null && rm -rf /tmp/build-var

USER koszyk
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS -H "Host: localhost" http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "shop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--limit-request-line", "8190", "--access-logfile", "-"]
