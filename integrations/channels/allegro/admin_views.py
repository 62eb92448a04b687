"""The admin's "Allegro connection" page: every Allegro connector with its connection state, and
the buttons to connect (device flow: the code and the link to open on Allegro), check now,
disconnect, test the connection and send the offers' content again.

Mounted under ``/admin/integrations/allegro/`` through ``admin.site.admin_view`` (staff login,
CSRF); changing anything needs the permission to change connectors.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template import engines
from django.template.response import HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.connector_client import IntegrationHTTPError
from integrations.models import ConnectorConfig
from shop.admin_mixins import scope_to_stores
from shop.events import safe_delay

from . import oauth

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).with_name("connect.html")
ACTIONS = ("start", "poll", "disconnect", "test", "update_offers")


@cache
def _template():
    return engines["django"].from_string(TEMPLATE.read_text(encoding="utf-8"))


def _row(config: ConnectorConfig) -> dict:
    state = oauth.allegro_state(config)
    device = state.get("device") or {}
    expires = parse_datetime(state.get("token_expires_at") or "")
    return {
        "config": config,
        "status": state.get("status") or oauth.NOT_CONNECTED,
        "error": state.get("error") or "",
        "user_code": device.get("user_code") or "",
        "verification_uri": device.get("verification_uri_complete") or device.get("verification_uri") or "",
        "code_expires_at": parse_datetime(device.get("expires_at") or ""),
        "interval": int(device.get("interval") or 5),
        "token_expires_at": expires,
        "connected_at": parse_datetime(state.get("connected_at") or ""),
        "change_url": reverse("admin:integrations_connectorconfig_change", args=[config.pk]),
    }


STATUS_LABELS = {
    oauth.NOT_CONNECTED: gettext_lazy("not connected"),
    oauth.PENDING: gettext_lazy("waiting for confirmation on Allegro"),
    oauth.CONNECTED: gettext_lazy("connected"),
    oauth.DENIED: gettext_lazy("refused on Allegro"),
    oauth.EXPIRED: gettext_lazy("code expired"),
    oauth.REFUSED: gettext_lazy("tokens refused: connect again"),
}


def connections(request):
    if not request.user.has_perm("integrations.view_connectorconfig"):
        raise PermissionDenied
    configs = scope_to_stores(
        ConnectorConfig.objects.filter(connector_type="allegro").select_related("store").order_by("name"),
        request.user,
    )
    rows = [_row(c) for c in configs]
    for row in rows:
        row["status_label"] = str(STATUS_LABELS.get(row["status"], row["status"]))
    pending = [r["interval"] for r in rows if r["status"] == oauth.PENDING]
    context = {
        **admin.site.each_context(request),
        "title": _("Allegro connection"),
        "rows": rows,
        "refresh_seconds": min(pending) if pending else 0,
        "can_change": request.user.has_perm("integrations.change_connectorconfig"),
        "now": timezone.now(),
        "add_url": reverse("admin:integrations_connectorconfig_add") + "?connector_type=allegro",
    }
    return HttpResponse(_template().render(context, request))


def act(request, config_id: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("integrations.change_connectorconfig"):
        raise PermissionDenied
    if action not in ACTIONS:
        raise PermissionDenied
    config = get_object_or_404(
        scope_to_stores(ConnectorConfig.objects.select_related("store"), request.user),
        pk=config_id,
        connector_type="allegro",
    )
    back = redirect("allegro_connections")
    try:
        if action == "start":
            device = oauth.start_device_flow(config)
            from .tasks import poll_device_flow

            safe_delay_later(poll_device_flow, config.pk, countdown=device["interval"])
            messages.success(
                request,
                _("Open the link and enter the code %(code)s on Allegro; this page notices the confirmation.")
                % {"code": device["user_code"]},
            )
        elif action == "poll":
            status = oauth.poll_device_flow(config)
            messages.info(request, str(STATUS_LABELS.get(status, status)))
        elif action == "disconnect":
            oauth.disconnect(config)
            messages.success(request, _("The Allegro tokens were forgotten."))
        elif action == "test":
            from integrations.services import connector_for

            messages.success(request, connector_for(config).test_connection())
        elif action == "update_offers":
            from .tasks import update_offers

            safe_delay(update_offers, config.pk, None)
            messages.success(
                request, _("The offers are being sent to Allegro again; see the channel listings.")
            )
    except (IntegrationHTTPError, ValidationError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    return back


def safe_delay_later(task, *args, countdown: float) -> None:
    try:
        task.apply_async(args=args, countdown=max(0.0, countdown))
    except Exception:  # without a broker the page's "Check now" still completes the connection
        log.warning("Could not enqueue %s", task.name, exc_info=True)


def urlpatterns():
    return [
        path("", admin.site.admin_view(connections), name="allegro_connections"),
        path("<int:config_id>/<slug:action>/", admin.site.admin_view(act), name="allegro_action"),
    ]
