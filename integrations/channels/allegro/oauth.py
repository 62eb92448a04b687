"""Connecting a store to an Allegro seller account: the OAuth device flow, and the tokens after it.

The device flow (RFC 8628, as Allegro documents it) fits a server with no public callback URL:

1. :func:`start_device_flow` asks ``POST /auth/oauth/device`` (HTTP Basic ``client_id:secret``,
   form field ``client_id``) for a ``device_code`` and a ``user_code``; the admin page shows the
   code and the ``verification_uri_complete`` link the merchant opens while logged in to Allegro.
2. :func:`poll_device_flow` asks ``POST /auth/oauth/token?grant_type=urn:ietf:params:oauth:
   grant-type:device_code&device_code=...`` no faster than ``interval``; Allegro answers
   ``authorization_pending`` until the merchant confirms, ``slow_down`` (wait 5 s longer from
   now on), ``access_denied`` or ``expired_token``. A Celery task repeats it; the admin page can
   also ask at once.
3. The tokens (access and refresh) are kept encrypted in the connector's secrets, their expiry in
   ``ConnectorConfig.state["allegro"]``. Refresh tokens rotate: each refresh returns a new one,
   which replaces the old one in the same locked transaction.

State changes lock the ConnectorConfig row, so two workers never refresh with the same refresh
token (the second one would be refused by Allegro after rotation).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integrations.connector_client import ConnectorClient
from integrations.models import ConnectorConfig

from .client import AllegroAuthError, AllegroError, auth_url, decode_json, parse_errors

log = logging.getLogger(__name__)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_SECONDS = 5

# Connection states shown in the admin.
NOT_CONNECTED = "not_connected"
PENDING = "pending"
CONNECTED = "connected"
DENIED = "denied"
EXPIRED = "expired"
REFUSED = "refused"  # Allegro refused the tokens later (revoked, or the refresh token expired)


def allegro_state(config: ConnectorConfig) -> dict[str, Any]:
    return dict((config.state or {}).get("allegro") or {})


@transaction.atomic
def update_state(
    config: ConnectorConfig, change: Callable[[dict, dict], None], *, secrets: bool = False
) -> ConnectorConfig:
    """Apply ``change(allegro_state, secrets)`` to the locked row and save only what changed.

    Locking re-reads the row, so a concurrent refresh or cursor update is never overwritten; the
    caller's ``config`` is brought up to date.
    """
    locked = ConnectorConfig.objects.select_for_update().get(pk=config.pk)
    state = dict(locked.state or {})
    section = dict(state.get("allegro") or {})
    stored = locked.secrets if secrets else {}
    change(section, stored)
    state["allegro"] = section
    locked.state = state
    fields = ["state"]
    if secrets:
        locked.set_secrets(stored)
        fields.append("secrets_encrypted")
    locked.save(update_fields=fields)
    config.state = locked.state
    config.secrets_encrypted = locked.secrets_encrypted
    return config


def _auth_client(config: ConnectorConfig, transport=None) -> ConnectorClient:
    from .connector import AllegroConnector

    options = AllegroConnector.typed_options(config.settings)
    secrets = config.secrets
    client_id = options.get("client_id") or ""
    client_secret = secrets.get("client_secret") or ""
    if not client_id or not client_secret:
        raise AllegroAuthError(_("Enter the Client ID and Client Secret of your Allegro application first."))
    return ConnectorClient(
        name=f"connector-{config.pk}-auth",
        base_url=auth_url(options),
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
        transport=transport,
    )


def _expiry(seconds: Any) -> str:
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        value = 43200  # Allegro's access tokens live 12 hours
    return (timezone.now() + dt.timedelta(seconds=max(0, value))).isoformat()


def _store_tokens(section: dict, secrets: dict, data: dict) -> None:
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise AllegroError(_("Allegro's token answer has no access token."))
    secrets["access_token"] = access
    refresh = data.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        secrets["refresh_token"] = refresh  # rotation: the old one is now invalid
    section["token_expires_at"] = _expiry(data.get("expires_in"))
    section["status"] = CONNECTED
    section["refreshed_at"] = timezone.now().isoformat()
    section.pop("error", None)


# --- device flow ---------------------------------------------------------------------------------


def start_device_flow(config: ConnectorConfig, *, transport=None) -> dict[str, Any]:
    """Ask Allegro for a user code; returns the stored device section (code, link, expiry)."""
    from .connector import AllegroConnector

    client_id = AllegroConnector.typed_options(config.settings).get("client_id") or ""
    with _auth_client(config, transport) as http:
        response = http.request("POST", "/auth/oauth/device", data={"client_id": client_id})
    data = decode_json(response)
    if response.status_code != 200:
        items = parse_errors(data)
        detail = "; ".join(i.text() for i in items) or str(response.status_code)
        raise AllegroError(_("Allegro refused to start the connection: %(detail)s") % {"detail": detail})
    missing = [k for k in ("device_code", "user_code") if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise AllegroError(
            _("Allegro's answer to the connection request lacks %(fields)s.") % {"fields": ", ".join(missing)}
        )
    try:
        interval = max(1, int(data.get("interval") or 5))
    except (TypeError, ValueError):
        interval = 5
    now = timezone.now()

    def change(section, secrets):
        secrets["device_code"] = data["device_code"]
        section["device"] = {
            "user_code": data["user_code"][:64],
            "verification_uri": str(data.get("verification_uri") or "")[:500],
            "verification_uri_complete": str(data.get("verification_uri_complete") or "")[:500],
            "interval": interval,
            "expires_at": _expiry(data.get("expires_in") or 3600),
            "next_poll_at": (now + dt.timedelta(seconds=interval)).isoformat(),
            "started_at": now.isoformat(),
        }
        section["status"] = PENDING
        section.pop("error", None)

    update_state(config, change, secrets=True)
    return allegro_state(config)["device"]


def poll_device_flow(config: ConnectorConfig, *, transport=None, force: bool = False) -> str:
    """Ask once whether the merchant confirmed; returns the connection state afterwards.

    Not before ``next_poll_at`` unless ``force`` (a merchant's click still respects Allegro's
    ``slow_down``: the interval only grows).
    """
    section = allegro_state(config)
    device = section.get("device") or {}
    if section.get("status") != PENDING or not device:
        return section.get("status") or NOT_CONNECTED
    now = timezone.now()
    expires = parse_datetime(device.get("expires_at") or "")
    if expires and expires <= now:
        _end_device_flow(config, EXPIRED, _("The code expired before it was confirmed; start again."))
        return EXPIRED
    next_poll = parse_datetime(device.get("next_poll_at") or "")
    if next_poll and next_poll > now and not force:
        return PENDING
    device_code = config.secrets.get("device_code")
    if not device_code:
        _end_device_flow(config, EXPIRED, _("The connection request was lost; start again."))
        return EXPIRED
    with _auth_client(config, transport) as http:
        response = http.request(
            "POST", "/auth/oauth/token", params={"grant_type": DEVICE_GRANT, "device_code": device_code}
        )
    data = decode_json(response)
    if response.status_code == 200:

        def connected(section, secrets):
            _store_tokens(section, secrets, data)
            secrets.pop("device_code", None)
            section.pop("device", None)
            section["connected_at"] = timezone.now().isoformat()

        update_state(config, connected, secrets=True)
        return CONNECTED
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    if code in ("authorization_pending", "slow_down"):

        def later(section, secrets):
            dev = dict(section.get("device") or {})
            interval = int(dev.get("interval") or 5)
            if code == "slow_down":
                interval += SLOW_DOWN_SECONDS
            dev["interval"] = interval
            dev["next_poll_at"] = (timezone.now() + dt.timedelta(seconds=interval)).isoformat()
            section["device"] = dev

        update_state(config, later)
        return PENDING
    if code == "access_denied":
        _end_device_flow(config, DENIED, _("The connection was refused on Allegro."))
        return DENIED
    if code == "expired_token":
        _end_device_flow(config, EXPIRED, _("The code expired before it was confirmed; start again."))
        return EXPIRED
    items = parse_errors(data)
    detail = "; ".join(i.text() for i in items) or f"HTTP {response.status_code}"
    _end_device_flow(
        config, NOT_CONNECTED, _("Allegro refused the connection: %(detail)s") % {"detail": detail}
    )
    return NOT_CONNECTED


def _end_device_flow(config: ConnectorConfig, status: str, error: str) -> None:
    def change(section, secrets):
        secrets.pop("device_code", None)
        section.pop("device", None)
        section["status"] = status
        section["error"] = error

    update_state(config, change, secrets=True)


def seconds_until_next_poll(config: ConnectorConfig) -> float:
    device = allegro_state(config).get("device") or {}
    next_poll = parse_datetime(device.get("next_poll_at") or "")
    if not next_poll:
        return float(device.get("interval") or 5)
    return max(0.0, (next_poll - timezone.now()).total_seconds())


def disconnect(config: ConnectorConfig) -> None:
    """Forget the tokens (the merchant can also revoke the application on Allegro)."""

    def change(section, secrets):
        for key in ("access_token", "refresh_token", "device_code"):
            secrets.pop(key, None)
        for key in ("device", "token_expires_at", "error", "connected_at", "refreshed_at"):
            section.pop(key, None)
        section["status"] = NOT_CONNECTED

    update_state(config, change, secrets=True)


# --- tokens for API calls ------------------------------------------------------------------------


class TokenStore:
    """The access token of one connector, refreshed when due or refused."""

    def __init__(self, config: ConnectorConfig, *, transport=None):
        self.config = config
        self.transport = transport

    def _current(self) -> tuple[str, dt.datetime | None]:
        secrets = self.config.secrets
        expires = parse_datetime(allegro_state(self.config).get("token_expires_at") or "")
        return secrets.get("access_token") or "", expires

    def access_token(self) -> str:
        token, expires = self._current()
        if not token:
            raise AllegroAuthError(
                _("The Allegro account is not connected: use “Connect to Allegro” on the connector's page.")
            )
        margin = dt.timedelta(seconds=settings.ALLEGRO_TOKEN_REFRESH_MARGIN_SECONDS)
        if expires is not None and expires - margin <= timezone.now():
            return self.refresh(failed_token=token)
        return token

    def refresh(self, *, failed_token: str) -> str:
        """A fresh access token. When another worker already replaced ``failed_token``, its new
        token is used; otherwise the refresh token is spent (and its successor stored)."""
        refused = ""
        with transaction.atomic():
            locked = ConnectorConfig.objects.select_for_update().get(pk=self.config.pk)
            secrets = locked.secrets
            current = secrets.get("access_token") or ""
            expires = parse_datetime(allegro_state(locked).get("token_expires_at") or "")
            margin = dt.timedelta(seconds=settings.ALLEGRO_TOKEN_REFRESH_MARGIN_SECONDS)
            if current and current != failed_token and (expires is None or expires - margin > timezone.now()):
                self.config.state, self.config.secrets_encrypted = locked.state, locked.secrets_encrypted
                return current
            refresh_token = secrets.get("refresh_token") or ""
            if not refresh_token:
                raise AllegroAuthError(
                    _(
                        "The Allegro account is not connected: use “Connect to Allegro” on the connector's page."
                    )
                )
            with _auth_client(locked, self.transport) as http:
                response = http.request(
                    "POST",
                    "/auth/oauth/token",
                    params={"grant_type": "refresh_token", "refresh_token": refresh_token},
                )
            data = decode_json(response)
            if response.status_code == 200:
                state = dict(locked.state or {})
                section = dict(state.get("allegro") or {})
                _store_tokens(section, secrets, data)
                state["allegro"] = section
                locked.state = state
                locked.set_secrets(secrets)
                locked.save(update_fields=["state", "secrets_encrypted"])
                self.config.state, self.config.secrets_encrypted = locked.state, locked.secrets_encrypted
                log.info("Allegro token of connector %s refreshed", locked.pk)
                return secrets["access_token"]
            items = parse_errors(data)
            detail = "; ".join(i.text() for i in items) or f"HTTP {response.status_code}"
            if response.status_code not in (400, 401):
                raise AllegroError(_("Refreshing the Allegro token failed: %(detail)s") % {"detail": detail})
            refused = detail

        def change(section, secrets):
            section["status"] = REFUSED
            section["error"] = refused

        update_state(self.config, change)
        raise AllegroAuthError(
            _("Allegro refused to refresh the access token (%(detail)s): connect the Allegro account again.")
            % {"detail": refused}
        )

    def mark_refused(self) -> None:
        def change(section, secrets):
            section["status"] = REFUSED
            section["error"] = _("Allegro refused the access token.")

        update_state(self.config, change)
