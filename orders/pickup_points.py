"""Parcel lockers: the public InPost points API (ShipX ``GET /v1/points``), briefly cached.

    points = search_points(parse_query("31-154"))     # nearest lockers to a postcode
    point = find_point("KRA01M")                        # one point by its code, or None
    check = check_point("KRA01M", cash_on_delivery=True)  # raises PointRefused when unusable

The points API needs no token. Every call has a short timeout and a retry on transport errors,
5xx and 429; an answer is cached for ``INPOST_POINTS_CACHE_SECONDS`` (every point of a search is
cached under its name too, so checking the point a shopper picked from the list costs no call).
After a failure the API is considered down for ``INPOST_POINTS_OUTAGE_SECONDS``: checkout then
falls back to the code pattern at once instead of waiting for the timeout on every page.

Calls go through the shop's one outbound client (:mod:`shop.outbound`, pooled connections).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import asdict, dataclass

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from shop import outbound

log = logging.getLogger(__name__)

CACHE_PREFIX = "inpost:points:v1"
OUTAGE_KEY = f"{CACHE_PREFIX}:down"
MISSING = "missing"  # cached answer "this code does not exist"

POSTCODE_RE = re.compile(r"^(\d{2})-?(\d{3})$")
POINT_CODE_RE = re.compile(r"^[A-Z]{3}\d{2,4}[A-Z]{0,3}$")
# Letters of any alphabet, digits, spaces and the punctuation of Polish place names.
QUERY_RE = re.compile(r"^[^\W_][\w .'\-]*$", re.UNICODE)
QUERY_MAX_LENGTH = 64


class PointsUnavailable(Exception):
    """The points API could not be asked (down, slow, or an answer we cannot read)."""


class PointRefused(Exception):
    """The code names no usable parcel locker; ``message`` is for the shopper."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadQuery(ValueError):
    """A search the shopper typed that we will not send on; ``message`` is for the shopper."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PickupPoint:
    """What the storefront needs of one point (the API item has ~40 fields)."""

    name: str
    status: str = ""
    types: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    payment_available: bool = False
    latitude: float | None = None
    longitude: float | None = None
    city: str = ""
    post_code: str = ""
    street: str = ""
    building_number: str = ""
    location_description: str = ""
    opening_hours: str = ""
    location_247: bool = False
    distance: int | None = None  # metres from the searched place, when the API tells

    @property
    def is_operating(self) -> bool:
        return self.status == "Operating"

    @property
    def collects_parcels(self) -> bool:
        return "parcel_collect" in self.functions

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.street, self.building_number) if p)
        town = " ".join(p for p in (self.post_code, self.city) if p)
        return ", ".join(p for p in (street, town) if p)

    @property
    def hours(self) -> str:
        if self.location_247 or self.opening_hours.replace(" ", "") == "24/7":
            return "24/7"
        return self.opening_hours

    @property
    def distance_label(self) -> str:
        if self.distance is None:
            return ""
        if self.distance < 1000:
            return f"{self.distance} m"
        return f"{number_format(self.distance / 1000, 1)} km"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["types"] = list(self.types)
        data["functions"] = list(self.functions)
        data.update(
            address=self.address,
            hours=self.hours,
            operating=self.is_operating,
            distance_label=self.distance_label,
        )
        return data

    @classmethod
    def from_api(cls, item) -> PickupPoint | None:
        """One ``items[]`` entry of ``/v1/points``; None when it is not a point we can use."""
        if not isinstance(item, dict):
            return None
        name = _text(item.get("name"), 32).upper()
        if not name:
            return None
        location = item.get("location") if isinstance(item.get("location"), dict) else {}
        details = item.get("address_details") if isinstance(item.get("address_details"), dict) else {}
        return cls(
            name=name,
            status=_text(item.get("status"), 32),
            types=_strings(item.get("type")),
            functions=_strings(item.get("functions")),
            payment_available=item.get("payment_available") is True,
            latitude=_number(location.get("latitude")),
            longitude=_number(location.get("longitude")),
            city=_text(details.get("city"), 100),
            post_code=_text(details.get("post_code"), 10),
            street=_text(details.get("street"), 120),
            building_number=_text(details.get("building_number"), 20),
            location_description=_text(item.get("location_description"), 255),
            opening_hours=_text(item.get("opening_hours"), 120),
            location_247=item.get("location_247") is True,
            distance=int(d) if (d := _number(item.get("distance"))) is not None else None,
        )


def _text(value, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _strings(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(v[:40] for v in value[:30] if isinstance(v, str))


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class PointQuery:
    """A validated search: near a postcode, by a point's code, or in a city."""

    post_code: str = ""
    name: str = ""
    city: str = ""
    near: tuple[float, float] | None = None
    cash_on_delivery: bool = False
    limit: int = 10

    def api_params(self) -> dict:
        params = {
            "type": "parcel_locker",
            "functions": "parcel_collect",
            "status": "Operating",
            "per_page": self.limit,
        }
        if self.cash_on_delivery:
            params["payment_available"] = "true"
        if self.post_code:
            params["relative_post_code"] = self.post_code
        elif self.near:
            params["relative_point"] = f"{self.near[0]:.6f},{self.near[1]:.6f}"
        elif self.name:
            params["name"] = self.name
        else:
            params["city"] = self.city
        return params


def parse_query(
    text: str = "", *, lat: str = "", lng: str = "", cash_on_delivery: bool = False, limit: int | None = None
) -> PointQuery:
    """Turn what the shopper typed into a search, or raise :class:`BadQuery` with why not."""
    limit = min(max(1, limit or settings.INPOST_POINTS_PER_PAGE), settings.INPOST_POINTS_MAX_PER_PAGE)
    if lat or lng:
        try:
            latitude, longitude = float(lat), float(lng)
        except (TypeError, ValueError):
            raise BadQuery(_("The map position is not valid.")) from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or latitude != latitude:
            raise BadQuery(_("The map position is not valid."))
        return PointQuery(near=(latitude, longitude), cash_on_delivery=cash_on_delivery, limit=limit)
    if not isinstance(text, str):
        raise BadQuery(_("Enter a postal code, a town or a parcel locker code."))
    if len(text) > QUERY_MAX_LENGTH * 4:
        raise BadQuery(_("The search is too long."))
    query = " ".join(text.split())
    if not query:
        raise BadQuery(_("Enter a postal code, a town or a parcel locker code."))
    if len(query) > QUERY_MAX_LENGTH:
        raise BadQuery(_("The search is too long."))
    if match := POSTCODE_RE.match(query):
        return PointQuery(post_code=f"{match[1]}-{match[2]}", cash_on_delivery=cash_on_delivery, limit=limit)
    if POINT_CODE_RE.match(query.upper().replace(" ", "")):
        return PointQuery(name=query.upper().replace(" ", ""), cash_on_delivery=cash_on_delivery, limit=limit)
    if len(query) < 2 or not QUERY_RE.match(query):
        raise BadQuery(
            _("Search by postal code (e.g. 31-154), town or parcel locker code, using letters and digits.")
        )
    return PointQuery(city=query, cash_on_delivery=cash_on_delivery, limit=limit)


class PointsClient:
    """The InPost points API on the shop's pooled outbound client (:mod:`shop.outbound`):
    timeouts, retries with a short backoff, no redirects, answers capped in size."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep=time.sleep,
    ):
        self.base_url = (base_url or settings.INPOST_POINTS_API_URL).rstrip("/")
        self.timeout = settings.INPOST_POINTS_TIMEOUT_SECONDS if timeout is None else timeout
        self.retries = settings.INPOST_POINTS_RETRIES if retries is None else retries
        self.partner = outbound.Partner(
            "inpost-points",
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": "Koszyk/1.0 (+pickup points)"},
            timeout=self.timeout,
            connect_timeout=min(self.timeout, 3.0),
            retries=self.retries,
            backoff=0.2,
            max_backoff=2.0,
            max_bytes=settings.INPOST_POINTS_MAX_RESPONSE_BYTES,
            transport=transport,
            sleep=sleep,
        )

    def _get(self, path: str, params: dict | None = None) -> tuple[int, bytes]:
        """(status, body) of one GET, retried on transport errors, 5xx and 429. The body is read
        in chunks and refused past ``INPOST_POINTS_MAX_RESPONSE_BYTES`` (never held whole)."""
        try:
            response = self.partner.request("GET", path, params=params)
        except outbound.ResponseTooLarge as exc:
            raise PointsUnavailable("answer too large") from exc
        except outbound.OutboundError as exc:
            raise PointsUnavailable(str(exc)) from exc
        return response.status_code, response.content

    @staticmethod
    def _json(body: bytes):
        try:
            return json.loads(body)
        except ValueError as exc:
            raise PointsUnavailable("answer is not JSON") from exc

    def search(self, params: dict) -> list[PickupPoint]:
        status, body = self._get("/v1/points", params)
        if status != 200:
            raise PointsUnavailable(f"HTTP {status}")
        data = self._json(body)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PointsUnavailable("answer without items")
        points = [p for p in (PickupPoint.from_api(item) for item in items) if p is not None]
        if any(p.distance is not None for p in points):
            points.sort(key=lambda p: (p.distance is None, p.distance or 0))
        return points

    def get(self, name: str) -> PickupPoint | None:
        status, body = self._get(f"/v1/points/{name}")
        if status == 404:
            return None
        if status != 200:
            raise PointsUnavailable(f"HTTP {status}")
        point = PickupPoint.from_api(self._json(body))
        if point is None:
            raise PointsUnavailable("answer without a point")
        return point if point.name == name else None


def _client() -> PointsClient:
    return PointsClient()


def _key(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{digest}"


def _point_key(name: str) -> str:
    return _key("point", name)


def _remember(point: PickupPoint) -> None:
    cache.set(_point_key(point.name), point, settings.INPOST_POINTS_CACHE_SECONDS)


def _mark_down(reason: str) -> None:
    log.warning("InPost points API unavailable: %s", reason)
    cache.set(OUTAGE_KEY, reason[:200], settings.INPOST_POINTS_OUTAGE_SECONDS)


def _guard() -> None:
    if cache.get(OUTAGE_KEY) is not None:
        raise PointsUnavailable("recently down")


def search_points(query: PointQuery) -> list[PickupPoint]:
    """Parcel lockers for ``query`` (nearest first); raises PointsUnavailable."""
    params = query.api_params()
    key = _key("search", *(f"{k}={params[k]}" for k in sorted(params)))
    cached = cache.get(key)
    if cached is not None:
        return cached
    _guard()
    try:
        points = _client().search(params)
    except PointsUnavailable as exc:
        _mark_down(str(exc))
        raise
    cache.set(key, points, settings.INPOST_POINTS_CACHE_SECONDS)
    for point in points:
        _remember(point)
    return points


def find_point(code: str) -> PickupPoint | None:
    """The point named ``code`` (None: no such point); raises PointsUnavailable."""
    name = re.sub(r"\s+", "", code or "").upper()
    if not name or len(name) > 32 or not re.fullmatch(r"[A-Z0-9\-]+", name):
        return None
    key = _point_key(name)
    cached = cache.get(key)
    if cached == MISSING:
        return None
    if cached is not None:
        return cached
    _guard()
    try:
        point = _client().get(name)
    except PointsUnavailable as exc:
        _mark_down(str(exc))
        raise
    if point is None:
        cache.set(key, MISSING, settings.INPOST_POINTS_CACHE_SECONDS)
        return None
    _remember(point)
    return point


@dataclass(frozen=True)
class PointCheck:
    """The outcome of checking a code: ``verified`` False means the API could not be asked and
    only the code's pattern was checked."""

    code: str
    verified: bool
    point: PickupPoint | None = None


def refusal(point: PickupPoint | None, code: str, *, cash_on_delivery: bool) -> str:
    """Why ``point`` cannot take this parcel ("" when it can)."""
    if point is None:
        return _("There is no parcel locker %(code)s. Check the code or pick a locker from the list.") % {
            "code": code
        }
    if not point.is_operating:
        return _("Parcel locker %(code)s is out of service at the moment. Please choose another one.") % {
            "code": code
        }
    if not point.collects_parcels:
        return _("Parcel locker %(code)s does not hand out parcels. Please choose another one.") % {
            "code": code
        }
    if cash_on_delivery and not point.payment_available:
        return _(
            "Parcel locker %(code)s does not take payments, so it cannot receive a cash on delivery "
            "parcel. Choose another locker or pay online."
        ) % {"code": code}
    return ""


def check_point(code: str, *, cash_on_delivery: bool = False) -> PointCheck:
    """Check ``code`` (already pattern-checked) with the points API when enabled. Raises
    :class:`PointRefused` for a point that does not exist or cannot take the parcel; when the API
    cannot be asked the code is accepted unverified (and logged)."""
    if not settings.INPOST_POINTS_VALIDATE:
        return PointCheck(code=code, verified=False)
    try:
        point = find_point(code)
    except PointsUnavailable as exc:
        log.warning("Parcel locker %s accepted by its pattern only: %s", code, exc)
        return PointCheck(code=code, verified=False)
    message = refusal(point, code, cash_on_delivery=cash_on_delivery)
    if message:
        raise PointRefused(message)
    return PointCheck(code=code, verified=True, point=point)


def describe(point: PickupPoint | None) -> dict:
    """What the checkout remembers about the chosen point (shown on the summary)."""
    if point is None:
        return {}
    return {
        "name": point.name,
        "address": point.address,
        "hours": point.hours,
        "description": point.location_description,
    }


# --- after the order is placed --------------------------------------------------------------------

ORDER_CHECK_HANDLER = "orders.pickup_points.check_order_point"


def check_order_point(event) -> None:
    """``order.created``: look at a parcel-locker order's point once more and leave an internal note
    when it could not be verified (points API down at checkout) or is not usable any more, so
    staff contact the shopper before the parcel is sent. Safe to run twice (one note per kind)."""
    from .models import Order
    from .services.workflow import add_note

    order_id = (event.payload or {}).get("order_id")
    order = (
        Order.objects.select_related("shipping_method").filter(pk=order_id).first()
        if isinstance(order_id, int)
        else None
    )
    if order is None or not order.pickup_point or not settings.INPOST_POINTS_VALIDATE:
        return
    # Marketplace orders carry the marketplace's own point ids (not always InPost's): not ours to judge.
    method = order.shipping_method
    if order.channel == Order.Channel.MARKETPLACE or method is None or not method.needs_pickup_point:
        return
    cod = order.payment_provider == "cod"
    try:
        point = find_point(order.pickup_point)
    except PointsUnavailable:
        text = _(
            "Parcel locker %(code)s could not be checked with InPost (the points API did not answer); "
            "check the locker before sending the parcel."
        ) % {"code": order.pickup_point}
    else:
        problem = refusal(point, order.pickup_point, cash_on_delivery=cod)
        if not problem:
            return
        text = _("Parcel locker check: %(problem)s Contact the shopper before sending the parcel.") % {
            "problem": problem
        }
    if not order.notes.filter(text=text).exists():
        add_note(order=order, text=text)


def register() -> None:
    from shop import events

    events.register("order.created", ORDER_CHECK_HANDLER, check_order_point)
