"""Over-long addresses get the API's JSON error shape, not gunicorn's HTML 414.

gunicorn refuses a request line over ``--limit-request-line`` (default 4,094 bytes) with its own
HTML page before Django sees it. The image and compose run gunicorn with the limit at its maximum
(8,190) and the API middleware answers a JSON 414 above ``API_MAX_URL_BYTES`` (4,094): tested here
on a real gunicorn started with the Dockerfile's own command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile_command() -> list[str]:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD ["):
            return json.loads(line.removeprefix("CMD "))
    raise AssertionError("no CMD in the Dockerfile")


def test_a_long_api_address_answers_json_414(client, store):
    path = "/api/v1/products/?search=" + "a" * settings.API_MAX_URL_BYTES
    response = client.get(path)
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "uri_too_long"
    assert client.get("/api/v1/?q=" + "a" * 100).status_code == 200  # a normal address still works


def test_the_dockerfile_and_compose_let_long_addresses_reach_django():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for command in (_dockerfile_command(), compose["services"]["web"]["command"]):
        limit = int(command[command.index("--limit-request-line") + 1])
        assert limit > settings.API_MAX_URL_BYTES + len("GET  HTTP/1.1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn():
    """gunicorn started as the Dockerfile starts it (one worker, on a free loopback port)."""
    command = _dockerfile_command()
    port = _free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    command[0] = str(Path(sys.executable).with_name("gunicorn"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "SECURE_SSL_REDIRECT": "false"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # a busy CI machine: up to a minute to boot
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(process.stderr.read().decode()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_gunicorn_answers_an_over_long_api_address_in_json(gunicorn):
    url = f"{gunicorn}/api/v1/products/?search=" + "a" * 5000  # over gunicorn's default 4,094
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "localhost"}), timeout=30)
    assert refused.value.code == 414
    assert refused.value.headers["Content-Type"].startswith("application/json")
    assert json.loads(refused.value.read())["error"]["code"] == "uri_too_long"
