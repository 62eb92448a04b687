"""Allegro: connecting through the OAuth device flow, and the tokens afterwards (refresh with
rotation, refusals, a 401 answered by one refresh)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.channels.allegro import oauth
from integrations.channels.allegro.client import AllegroAuthError, AllegroClient
from integrations.channels.allegro.tasks import poll_device_flow
from integrations.models import ConnectorConfig
from tests.fakes.allegro import FakeAllegro

from .factories_allegro import allegro_config, connect, fast_allegro  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_allegro")]


@pytest.fixture
def fake_allegro():
    with FakeAllegro() as fake:
        yield fake


@pytest.fixture
def config(store, fake_allegro):
    return allegro_config(store, fake_allegro, connected=False)


def make_due(config):
    def change(section, secrets):
        section["device"]["next_poll_at"] = (timezone.now() - dt.timedelta(seconds=1)).isoformat()

    oauth.update_state(config, change)


def test_device_flow_shows_the_code_and_connects_after_approval(config, fake_allegro):
    device = oauth.start_device_flow(config)
    flow = next(iter(fake_allegro.flows.values()))
    assert device["user_code"] == flow.user_code
    assert device["verification_uri_complete"].endswith(flow.user_code)
    request = fake_allegro.calls("POST", "/auth/oauth/device")[0]
    assert request.headers["authorization"].startswith("Basic ")
    assert b"client_id=allegro-client" in request.body
    # The device code is a secret: encrypted, never in the readable state.
    config.refresh_from_db()
    assert flow.device_code not in str(config.state)
    assert flow.device_code not in config.secrets_encrypted
    assert config.secrets["device_code"] == flow.device_code

    # Not before the interval: no call at all.
    assert oauth.poll_device_flow(config) == oauth.PENDING
    assert flow.polls == 0
    make_due(config)
    assert oauth.poll_device_flow(config) == oauth.PENDING
    assert flow.polls == 1
    token_call = fake_allegro.calls("POST", "/auth/oauth/token")[-1]
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in token_call.query

    fake_allegro.approve()
    make_due(config)
    assert oauth.poll_device_flow(config) == oauth.CONNECTED
    config.refresh_from_db()
    state = oauth.allegro_state(config)
    assert state["status"] == oauth.CONNECTED
    assert "device" not in state
    assert "device_code" not in config.secrets
    access = config.secrets["access_token"]
    assert access in fake_allegro.access_tokens
    assert access not in config.secrets_encrypted and access not in str(config.state)
    expires = dt.datetime.fromisoformat(state["token_expires_at"])
    assert expires > timezone.now() + dt.timedelta(hours=11)


def test_slow_down_makes_the_interval_longer(config, fake_allegro):
    oauth.start_device_flow(config)
    flow = next(iter(fake_allegro.flows.values()))
    flow.slow_down_next = 1
    make_due(config)
    assert oauth.poll_device_flow(config) == oauth.PENDING
    device = oauth.allegro_state(config)["device"]
    assert device["interval"] == 5 + oauth.SLOW_DOWN_SECONDS
    wait = oauth.seconds_until_next_poll(config)
    assert 8 < wait <= 10
    # Even a merchant's "check now" waits out the new interval? No: force asks, but the interval stays.
    assert oauth.poll_device_flow(config, force=True) == oauth.PENDING
    assert oauth.allegro_state(config)["device"]["interval"] == 10


@pytest.mark.parametrize(
    ("action", "expected", "words"),
    [("deny", oauth.DENIED, "refused on Allegro"), ("expire", oauth.EXPIRED, "expired")],
)
def test_denied_or_expired_code_ends_the_flow_with_the_reason(config, fake_allegro, action, expected, words):
    oauth.start_device_flow(config)
    getattr(fake_allegro, action)()
    make_due(config)
    assert oauth.poll_device_flow(config) == expected
    config.refresh_from_db()
    state = oauth.allegro_state(config)
    assert state["status"] == expected
    assert words in state["error"]
    assert "device_code" not in config.secrets
    # Nothing more is asked.
    calls = len(fake_allegro.requests)
    assert oauth.poll_device_flow(config, force=True) == expected
    assert len(fake_allegro.requests) == calls


def test_a_code_past_its_lifetime_expires_without_asking(config, fake_allegro):
    oauth.start_device_flow(config)

    def change(section, secrets):
        section["device"]["expires_at"] = (timezone.now() - dt.timedelta(seconds=1)).isoformat()

    oauth.update_state(config, change)
    calls = len(fake_allegro.requests)
    assert oauth.poll_device_flow(config, force=True) == oauth.EXPIRED
    assert len(fake_allegro.requests) == calls


def test_wrong_client_secret_is_a_clear_error(store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False, client_secret="wrong")
    with pytest.raises(Exception, match="refused to start the connection"):
        oauth.start_device_flow(config)


def test_missing_client_secret_is_a_clear_error(store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False, client_secret="")
    with pytest.raises(AllegroAuthError, match="Client Secret"):
        oauth.start_device_flow(config)


def test_the_poll_task_completes_the_flow(config, fake_allegro):
    oauth.start_device_flow(config)
    fake_allegro.approve()
    make_due(config)
    assert poll_device_flow(config.pk) == oauth.CONNECTED
    config.refresh_from_db()
    assert config.secrets["access_token"] in fake_allegro.access_tokens


def test_the_poll_task_not_due_waits_without_calling(config, fake_allegro):
    oauth.start_device_flow(config)
    calls = len(fake_allegro.requests)
    # Eager tasks run their follow-ups at once; an early delivery re-queues itself a few times only.
    assert poll_device_flow.delay(config.pk).get() == oauth.PENDING
    assert len(fake_allegro.requests) == calls


def test_refresh_rotates_the_refresh_token(store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False)
    old_access, old_refresh = connect(config, fake_allegro, expires_in_seconds=10)  # inside the margin
    with AllegroClient(config) as client:
        assert client.get("/me")["login"] == fake_allegro.seller_login
    config.refresh_from_db()
    assert config.secrets["access_token"] != old_access
    assert config.secrets["refresh_token"] != old_refresh
    assert old_refresh in fake_allegro.used_refresh_tokens
    assert config.secrets["refresh_token"] in fake_allegro.refresh_tokens
    # The new pair keeps working; the old refresh token would be refused.
    with AllegroClient(config) as client:
        assert client.get("/me")["login"]
    assert len(fake_allegro.calls("POST", "/auth/oauth/token")) == 1


def test_a_401_refreshes_once_and_retries(store, fake_allegro):
    config = allegro_config(store, fake_allegro)
    fake_allegro.revoke_access_tokens()
    with AllegroClient(config) as client:
        assert client.get("/me")["login"] == fake_allegro.seller_login
    assert len(fake_allegro.calls("POST", "/auth/oauth/token")) == 1
    assert len(fake_allegro.calls("GET", "/me")) == 2


def test_another_worker_already_refreshed(store, fake_allegro):
    """The token that failed was already replaced: the stored one is used, the refresh token kept."""
    config = allegro_config(store, fake_allegro)
    stale = ConnectorConfig.objects.get(pk=config.pk)
    stale_token = stale.secrets["access_token"]
    fresh_access, _refresh = connect(config, fake_allegro)
    store_ = oauth.TokenStore(stale)
    assert store_.refresh(failed_token=stale_token) == fresh_access
    assert fake_allegro.calls("POST", "/auth/oauth/token") == []


def test_refused_refresh_token_is_a_clear_failure_and_marks_the_connection(store, fake_allegro):
    config = allegro_config(store, fake_allegro)
    fake_allegro.revoke_access_tokens()
    fake_allegro.refresh_tokens.clear()
    with (
        AllegroClient(config) as client,
        pytest.raises(AllegroAuthError, match="connect the Allegro account again"),
    ):
        client.get("/me")
    config.refresh_from_db()
    state = oauth.allegro_state(config)
    assert state["status"] == oauth.REFUSED
    assert "Invalid refresh token" in state["error"]


def test_not_connected_is_a_clear_failure(store, fake_allegro):
    config = allegro_config(store, fake_allegro, connected=False)
    with AllegroClient(config) as client, pytest.raises(AllegroAuthError, match="not connected"):
        client.get("/me")
    assert fake_allegro.requests == []


def test_disconnect_forgets_the_tokens(store, fake_allegro):
    config = allegro_config(store, fake_allegro)
    oauth.disconnect(config)
    config.refresh_from_db()
    assert "access_token" not in config.secrets and "refresh_token" not in config.secrets
    assert config.secrets["client_secret"] == fake_allegro.client_secret
    assert oauth.allegro_state(config)["status"] == oauth.NOT_CONNECTED
