"""The BaseLinker API client: one ``connector.php`` endpoint, ``X-BLToken``, form fields ``method``
and ``parameters`` (JSON); SUCCESS/ERROR answers with ``error_code``/``error_message``; limit
answers waited out."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from ...connector_client import IntegrationHTTPError

log = logging.getLogger(__name__)

API_URL = "https://api.baselinker.com/connector.php"
AUTH_CODES = {"ERROR_BAD_TOKEN", "ERROR_USER_ACCOUNT_BLOCKED", "ERROR_NO_TOKEN", "ERROR_TOKEN"}
# Every method is a POST; reads (get*) and absolute writes (update* stock/prices, set* a status)
# are safe to send again after a lost answer, add* methods are not (a second product).
IDEMPOTENT_PREFIXES = ("get", "update", "set")


class BaseLinkerError(IntegrationHTTPError):
    """BaseLinker answered ERROR (``code``) or something that is not its protocol."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


def is_limit_error(code: str, message: str) -> bool:
    text = f"{code} {message}".lower()
    return "limit" in text and ("exceed" in text or "request" in text or "query" in text or "blocked" in text)


class BaseLinkerClient:
    """``call(method, parameters) -> dict`` on top of the shared :class:`ConnectorClient`."""

    def __init__(
        self,
        *,
        http,
        url: str,
        limit_retries: int | None = None,
        limit_wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int | None = None,
    ):
        self.http = http
        self.url = url
        self.limit_retries = (
            settings.CHANNELS_BASELINKER_LIMIT_RETRIES if limit_retries is None else limit_retries
        )
        self.limit_wait = (
            settings.CHANNELS_BASELINKER_LIMIT_WAIT_SECONDS if limit_wait is None else limit_wait
        )
        self.max_bytes = settings.CHANNELS_MAX_RESPONSE_BYTES if max_bytes is None else max_bytes
        self.sleep = sleep
        self.calls = 0

    def call(self, method: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"method": method, "parameters": json.dumps(parameters or {}, ensure_ascii=False)}
        for attempt in range(self.limit_retries + 1):
            self.calls += 1
            response = self.http.request(
                "POST", self.url, data=body, idempotent=method.startswith(IDEMPOTENT_PREFIXES)
            )
            if response.status_code in (401, 403):
                raise BaseLinkerError(
                    _("BaseLinker refused the API token (HTTP %(code)d).") % {"code": response.status_code},
                    code="ERROR_BAD_TOKEN",
                )
            if response.status_code != 200:
                raise BaseLinkerError(
                    _("BaseLinker answered HTTP %(code)d to %(method)s.")
                    % {"code": response.status_code, "method": method}
                )
            if len(response.content) > self.max_bytes:
                raise BaseLinkerError(
                    _("BaseLinker's answer to %(method)s is larger than %(n)d bytes.")
                    % {"method": method, "n": self.max_bytes}
                )
            try:
                # NaN/Infinity (valid for Python's json, not for PostgreSQL's) stay strings: the
                # value is refused where it is used, and the raw order can still be stored.
                data = json.loads(response.content, parse_constant=str)
            except ValueError:
                raise BaseLinkerError(
                    _("BaseLinker's answer to %(method)s is not JSON.") % {"method": method}
                ) from None
            if not isinstance(data, dict) or data.get("status") not in ("SUCCESS", "ERROR"):
                raise BaseLinkerError(
                    _("BaseLinker's answer to %(method)s has no status.") % {"method": method}
                )
            if data["status"] == "SUCCESS":
                return data
            code = str(data.get("error_code") or "")[:60]
            message = str(data.get("error_message") or "")[:500]
            if is_limit_error(code, message) and attempt < self.limit_retries:
                log.info("BaseLinker limit reached (%s); waiting %s s", code, self.limit_wait)
                self.sleep(self.limit_wait)
                continue
            if code in AUTH_CODES:
                raise BaseLinkerError(
                    _("BaseLinker refused the API token: %(message)s (%(code)s)")
                    % {"message": message, "code": code},
                    code=code,
                )
            raise BaseLinkerError(
                _("BaseLinker refused %(method)s: %(message)s (%(code)s)")
                % {"method": method, "message": message, "code": code},
                code=code,
            )
        raise BaseLinkerError(
            _("BaseLinker's request limit is still exceeded."), code="LIMIT"
        )  # pragma: no cover


def _warnings(data: dict) -> dict[str, str]:
    """``warnings`` is an object {product id: message}; BaseLinker sends "" or [] for none."""
    raw = data.get("warnings")
    if isinstance(raw, dict):
        return {str(k): str(v)[:500] for k, v in raw.items()}
    return {}
