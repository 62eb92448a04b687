"""A fake InPost ShipX points API (public, no token): ``GET /v1/points`` and ``GET /v1/points/{name}``.

Speaks the documented shape: a paginated list ``{"href", "count", "page", "per_page",
"total_pages", "items": [...]}`` whose items carry ``name``, ``status``, ``type``, ``functions``,
``payment_available``, ``location {latitude, longitude}``, ``address {line1, line2}``,
``address_details {city, post_code, street, building_number, ...}``, ``location_description``,
``opening_hours``, ``location_247`` and, for a search relative to a place, ``distance`` in metres.
Filters: ``name``, ``type``, ``functions``, ``status``, ``city``, ``payment_available``,
``relative_post_code``/``relative_point`` (sorted by distance), ``per_page``, ``page``. An unknown
point answers 404 ``{"status": 404, "error": "resource_not_found", ...}``.

    with FakeInPostPoints() as api:
        api.add_point("KRA01M", city="Kraków", post_code="31-154")
        settings.INPOST_POINTS_API_URL = api.url
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

# A few postcodes the fake can place on the map (the real API geocodes any Polish postcode).
POSTCODES = {
    "31-154": (50.0686, 19.9437),
    "00-950": (52.2297, 21.0122),
    "61-001": (52.4064, 16.9252),
}


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> int:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return int(2 * 6371000 * math.asin(math.sqrt(h)))


class FakeInPostPoints:
    def __init__(self) -> None:
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.points: dict[str, dict] = {}
        self.fail_with: FakeResponse | None = None  # answer every call with this (5xx, delay, junk)
        self.server.route("GET", "/v1/points", self._list)
        self.server.route("GET", "/v1/points/", self._one)

    def serve_geowidget(self) -> None:
        """Serve a stand-in for geowidget.inpost.pl's ``inpost-geowidget.js``/``.css``: an
        ``<inpost-geowidget>`` element that lists the fake's points as buttons and, when one is
        clicked, dispatches the event named by its ``onpoint`` attribute on ``document`` with the
        point as ``detail`` -- the documented Geowidget v5 contract, without the map."""
        script = (
            "customElements.define('inpost-geowidget', class extends HTMLElement {"
            " connectedCallback() {"
            "  const points = %s; const widget = this;"
            "  points.forEach(function (point) {"
            "   const b = document.createElement('button'); b.type = 'button';"
            "   b.textContent = point.name; b.dataset.testid = 'map-point';"
            "   b.addEventListener('click', function () {"
            "    document.dispatchEvent(new CustomEvent(widget.getAttribute('onpoint'), {detail: point}));"
            "   });"
            "   widget.appendChild(b);"
            "  });"
            " }"
            "});"
        )

        def js(request):
            points = [p for p in self.points.values() if p["status"] == "Operating"]
            body = (script % json.dumps(points, ensure_ascii=False)).encode()
            return FakeResponse(200, body, {"Content-Type": "application/javascript"})

        self.server.route("GET", "/inpost-geowidget.js", js)
        self.server.route(
            "GET",
            "/inpost-geowidget.css",
            FakeResponse(200, b"inpost-geowidget{display:block}", {"Content-Type": "text/css"}),
        )

    def __enter__(self) -> FakeInPostPoints:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def add_point(
        self,
        name: str,
        *,
        city: str = "Kraków",
        post_code: str = "31-154",
        street: str = "Pawia",
        building_number: str = "5",
        latitude: float = 50.0686,
        longitude: float = 19.9437,
        status: str = "Operating",
        functions: tuple[str, ...] = ("parcel_collect", "parcel_send", "parcel_reverse_return_send"),
        types: tuple[str, ...] = ("parcel_locker",),
        payment_available: bool = True,
        opening_hours: str = "24/7",
        location_description: str = "Przy wejściu do sklepu",
    ) -> dict:
        item = {
            "href": f"https://api-shipx-pl.easypack24.net/v1/points/{name}",
            "name": name,
            "type": list(types),
            "status": status,
            "location": {"longitude": longitude, "latitude": latitude},
            "location_type": "Outdoor",
            "location_date": None,
            "location_description": location_description,
            "location_description_1": None,
            "location_description_2": None,
            "opening_hours": opening_hours,
            "address": {"line1": f"{street} {building_number}", "line2": f"{post_code} {city}"},
            "address_details": {
                "city": city,
                "province": "małopolskie",
                "post_code": post_code,
                "street": street,
                "building_number": building_number,
                "flat_number": None,
            },
            "phone_number": None,
            "payment_point_descr": "Płatność kartą" if payment_available else "",
            "functions": list(functions),
            "partner_id": 0,
            "is_next": False,
            "payment_available": payment_available,
            "payment_type": {"2": "Payments by card"} if payment_available else {},
            "virtual": "0",
            "recommended_low_interest_box_machines_list": [],
            "location_247": opening_hours == "24/7",
        }
        self.points[name] = item
        return item

    # --- endpoints ------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, data) -> FakeResponse:
        return FakeResponse(
            status, json.dumps(data, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
        )

    def _list(self, request: RecordedRequest) -> FakeResponse:
        if self.fail_with is not None:
            return self.fail_with
        query = {k: v[-1] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
        items = list(self.points.values())
        if "name" in query:
            items = [i for i in items if i["name"] == query["name"]]
        if "type" in query:
            items = [i for i in items if query["type"] in i["type"]]
        if "functions" in query:
            wanted = set(query["functions"].split(","))
            items = [i for i in items if wanted <= set(i["functions"])]
        if "status" in query:
            items = [i for i in items if i["status"] == query["status"]]
        if "city" in query:
            items = [i for i in items if i["address_details"]["city"].lower() == query["city"].lower()]
        if query.get("payment_available") == "true":
            items = [i for i in items if i["payment_available"]]
        origin = None
        if "relative_post_code" in query:
            origin = POSTCODES.get(query["relative_post_code"])
            if origin is None:
                return self._json(200, self._page([], query))
        elif "relative_point" in query:
            try:
                lat, lng = (float(x) for x in query["relative_point"].split(","))
            except ValueError:
                return self._json(
                    400, {"status": 400, "error": "invalid_parameter", "message": "relative_point"}
                )
            origin = (lat, lng)
        if origin is not None:
            items = [
                {
                    **i,
                    "distance": _distance_m(origin, (i["location"]["latitude"], i["location"]["longitude"])),
                }
                for i in items
            ]
            items.sort(key=lambda i: i["distance"])
        return self._json(200, self._page(items, query))

    @staticmethod
    def _page(items: list, query: dict) -> dict:
        per_page = max(1, min(500, int(query.get("per_page") or 25)))
        page = max(1, int(query.get("page") or 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        return {
            "href": "https://api-shipx-pl.easypack24.net/v1/points",
            "count": len(items),
            "page": page,
            "per_page": per_page,
            "total_pages": max(1, math.ceil(len(items) / per_page)),
            "items": chunk,
            "meta": {},
        }

    def _one(self, request: RecordedRequest) -> FakeResponse:
        if self.fail_with is not None:
            return self.fail_with
        name = request.path.rsplit("/", 1)[-1]
        item = self.points.get(name)
        if item is None:
            return self._json(
                404,
                {
                    "status": 404,
                    "error": "resource_not_found",
                    "message": "The resource you are looking for could not be found.",
                    "details": {},
                },
            )
        return self._json(200, item)
