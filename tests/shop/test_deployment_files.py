"""No Docker engine runs in CI: the compose file and Dockerfile are checked by reading them."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_whole_stack():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit", "migrate"} <= set(services)
    assert services["web"]["command"][0] == "gunicorn"
    assert "shop.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "shop", "worker"]
    assert "beat" in services["beat"]["command"]
    assert any("DatabaseScheduler" in part for part in services["beat"]["command"])


def test_app_services_point_at_the_compose_databases():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["EMAIL_URL"] == "smtp://mailpit:1025"
        assert "SECRET_KEY" in env
        deps = services[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    pg_creds = services["postgres"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    assert (
        url == f"postgres://{pg_creds['POSTGRES_USER']}:{pg_creds['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{pg_creds['POSTGRES_DB']}"
    )


def test_compose_volumes_are_declared():
    data = compose()
    declared = set(data["volumes"])
    for service in data["services"].values():
        for volume in service.get("volumes", []):
            name = volume.split(":")[0]
            if not name.startswith((".", "/")):
                assert name in declared


def test_dockerfile_builds_a_non_root_gunicorn_image():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert "pip install ." in text
    assert re.search(r"^USER koszyk$", text, re.M)
    assert "collectstatic --noinput" in text
    assert "libpango" in text  # WeasyPrint's system dependency
    assert "postgresql-client" in text  # pg_dump for backups
    assert re.search(r'^CMD \["gunicorn", "shop.wsgi:application"', text, re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var", ".git"} <= set(ignored)


def test_gunicorn_timeout_is_set_in_one_place_the_conf_file():
    """gunicorn.conf.py reads WEB_TIMEOUT_SECONDS, which Django also reads (a stale
    Idempotency-Key is one older than that): a --timeout on a command line would override it."""
    import json

    dockerfile = next(
        json.loads(line.removeprefix("CMD "))
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD [")
    )
    for command in (dockerfile, compose()["services"]["web"]["command"]):
        assert command[0] == "gunicorn"
        assert not any(part == "--timeout" or part.startswith(("--timeout=", "-t")) for part in command), (
            command
        )
        assert "-c" not in command and not any(part.startswith("--config") for part in command)
    conf = (ROOT / "gunicorn.conf.py").read_text()
    assert re.search(r'^timeout = int\(os\.environ\.get\("WEB_TIMEOUT_SECONDS"', conf, re.M)
    assert "gunicorn.conf.py" not in (ROOT / ".dockerignore").read_text()  # the image's /app has it
