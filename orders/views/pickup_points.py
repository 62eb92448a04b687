"""The parcel-locker search behind the delivery step's search-as-you-type list (JSON), also
readable as a plain page (HTML) for a shopper without JavaScript who opens it directly.

    GET /zamowienie/paczkomaty/?q=31-154            nearest lockers to a postcode
    GET /zamowienie/paczkomaty/?q=Kraków&cod=1      lockers in a town that take payments
    GET /zamowienie/paczkomaty/?lat=50.06&lng=19.94 nearest lockers to a map position

Answers 400 with ``{"error": ...}`` for a search we will not send on (empty, too long, odd
characters), 429 when one address searches too often, 503 when the points API is down.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from shop import ratelimit

from .. import pickup_points
from .common import wants_json


def _answer(request, data: dict, *, status: int = 200, headers: dict | None = None):
    if wants_json(request) or request.GET.get("format") == "json":
        response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        response = render(request, "orders/checkout/_pickup_point_page.html", data, status=status)
    response["Cache-Control"] = "private, max-age=60" if status == 200 else "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@require_GET
def pickup_point_search(request):
    raw = request.GET.get("q", "")
    base = {"query": raw[: pickup_points.QUERY_MAX_LENGTH], "points": []}
    if not ratelimit.allow(
        f"points:{ratelimit.client_ip(request)}",
        limit=settings.INPOST_POINTS_SEARCH_RATE_LIMIT,
        window=settings.INPOST_POINTS_SEARCH_RATE_WINDOW,
    ):
        wait = ratelimit.retry_after(window=settings.INPOST_POINTS_SEARCH_RATE_WINDOW)
        return _answer(
            request,
            {**base, "error": _("Too many searches. Please wait a moment and try again.")},
            status=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        query = pickup_points.parse_query(
            raw,
            lat=request.GET.get("lat", "")[:32],
            lng=request.GET.get("lng", "")[:32],
            cash_on_delivery=request.GET.get("cod") in ("1", "true", "on"),
        )
    except pickup_points.BadQuery as exc:
        return _answer(request, {**base, "error": exc.message}, status=400)
    try:
        points = pickup_points.search_points(query)
    except pickup_points.PointsUnavailable:
        return _answer(
            request,
            {
                **base,
                "error": _(
                    "The parcel locker search is not available right now. Type the locker's code instead."
                ),
            },
            status=503,
            headers={"Retry-After": str(settings.INPOST_POINTS_OUTAGE_SECONDS)},
        )
    return _answer(request, {**base, "points": [p.as_dict() for p in points], "error": ""})
