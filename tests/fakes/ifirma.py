"""A fake iFirma API ("iapi") that authenticates like the real one.

Every request must carry ``Authentication: IAPIS user=<login>, hmac-sha1=<hex>`` where the hex is
HMAC-SHA1 with the hex-decoded key of the key name ``faktura`` over: the URL without its query +
login + key name + the raw request body. A wrong header, login or hash is answered like iFirma does,
in the body: ``{"response": {"Kod": 400|401|403, "Informacja": ...}}``.

- ``POST /iapi/fakturakraj.json``: checks the invoice (LiczOd, dates, Pozycje with StawkaVat and
  TypStawkiVat, Kontrahent with a NIP when not OsobaFizyczna), answers ``Kod 0`` and
  ``Identyfikator``;
- ``GET /iapi/fakturakraj/{id}.json``: the invoice with ``PelnyNumer``;
- ``POST /iapi/fakturakraj/korekta/{id}.json``: a correction of invoice ``id``;
- ``GET /iapi/faktury.json?dataOd=&dataDo=``: ``Wynik`` with FakturaId, PelnyNumer, Brutto, NazwaKontrahenta.

``script`` queues misbehaviour for the next POSTs (status, delay, body; whether the invoice is
still stored) like :mod:`tests.fakes.fakturownia`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from decimal import Decimal
from urllib.parse import parse_qs

from tests.fakes.fakturownia import Misbehaviour
from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

HEADER_RE = re.compile(r"^IAPIS user=(?P<user>[^,]+), hmac-sha1=(?P<hash>[0-9a-f]{40})$")


def ifirma_hmac(key_hex: str, message: bytes) -> str:
    return hmac.new(bytes.fromhex(key_hex), message, hashlib.sha1).hexdigest()


class FakeIFirma:
    def __init__(self, *, login: str = "sklep_demo", key_hex: str = "A1B2C3D4E5F60718"):
        self.login = login
        self.key_hex = key_hex
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.invoices: dict[int, dict] = {}
        self.corrections: dict[int, dict] = {}
        self.script: list[Misbehaviour] = []
        self._ids = itertools.count(5001)
        self.server.route("POST", "/iapi/fakturakraj.json", self._guard(self._create))
        self.server.route("GET", "/iapi/fakturakraj/", self._guard(self._get))
        self.server.route("POST", "/iapi/fakturakraj/korekta/", self._guard(self._correct))
        self.server.route("GET", "/iapi/faktury.json", self._guard(self._list))

    def __enter__(self) -> FakeIFirma:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def api_url(self) -> str:
        return self.server.url("/iapi")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    @staticmethod
    def _answer(kod: int, info: str = "", status: int = 200, **extra) -> FakeResponse:
        body = {"response": {"Kod": kod, "Informacja": info, **extra}}
        return FakeResponse(
            status, json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
        )

    def _guard(self, handler):
        def wrapped(request: RecordedRequest) -> FakeResponse:
            match = HEADER_RE.match(request.headers.get("authentication", ""))
            if match is None:
                return self._answer(400, "Niepoprawny nagłówek autoryzacji")
            if match["user"] != self.login:
                return self._answer(401, "Niepoprawny login użytkownika")
            url = self.server.url(request.path).encode()
            expected = ifirma_hmac(self.key_hex, url + self.login.encode() + b"faktura" + request.body)
            if not hmac.compare_digest(expected, match["hash"]):
                return self._answer(403, "Niepoprawny hash bądź kod wiadomości")
            if request.method == "POST" and "application/json" not in request.headers.get("content-type", ""):
                return self._answer(102, "Brak lub niepoprawnie określony typ zawartości żądania")
            return handler(request)

        return wrapped

    def _misbehave(self, store) -> FakeResponse | None:
        if not self.script:
            return None
        trouble = self.script.pop(0)
        stored = store() if trouble.create else None
        body = trouble.body
        if body is None:
            body = json.dumps({"response": {"Kod": 0, "Informacja": "ok", "Identyfikator": stored}}).encode()
        return FakeResponse(trouble.status, body, {"Content-Type": "application/json"}, delay=trouble.delay)

    # --- endpoints --------------------------------------------------------------------------------

    def _validate_positions(self, positions) -> str:
        if not isinstance(positions, list) or not positions:
            return "Pozycje: brak pozycji"
        for p in positions:
            if p.get("TypStawkiVat") not in ("PRC", "ZW", "NP"):
                return "Pozycje: niepoprawny TypStawkiVat"
            if p.get("TypStawkiVat") == "PRC" and p.get("StawkaVat") not in (0.23, 0.08, 0.05, 0.0, 0):
                return "Pozycje: niepoprawna StawkaVat"
            if not str(p.get("NazwaPelna") or "").strip():
                return "Pozycje: brak nazwy"
            if not isinstance(p.get("Ilosc"), int | float) or not isinstance(
                p.get("CenaJednostkowa"), int | float
            ):
                return "Pozycje: niepoprawna ilość lub cena"
        return ""

    def _create(self, request: RecordedRequest) -> FakeResponse:
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self._answer(
                200,
                "Niepoprawna zawartość żądania - nie można utworzyć obiektu na podstawie zawartości żądania.",
            )
        problems = [
            key
            for key in ("LiczOd", "DataWystawienia", "DataSprzedazy", "FormatDatySprzedazy", "SposobZaplaty")
            if not data.get(key)
        ]
        if problems:
            return self._answer(201, f"Brak pola {problems[0]}")
        if data["LiczOd"] not in ("BRT", "NET"):
            return self._answer(201, "LiczOd: niepoprawna wartość")
        error = self._validate_positions(data.get("Pozycje"))
        if error:
            return self._answer(201, error)
        contractor = data.get("Kontrahent") or {}
        if not contractor.get("Nazwa"):
            return self._answer(201, "Kontrahent: brak nazwy")
        if contractor.get("OsobaFizyczna") is False and not re.fullmatch(
            r"\d{10}", str(contractor.get("NIP") or "")
        ):
            return self._answer(201, "Kontrahent: niepoprawny NIP")

        def store() -> int:
            pk = next(self._ids)
            gross = sum(
                Decimal(str(p["CenaJednostkowa"])) * Decimal(str(p["Ilosc"])) for p in data["Pozycje"]
            )
            self.invoices[pk] = {
                **data,
                "FakturaId": pk,
                "PelnyNumer": f"{len(self.invoices) + 1}/11/2026",
                "Brutto": f"{gross:.2f}",
            }
            return pk

        trouble = self._misbehave(store)
        if trouble is not None:
            return trouble
        pk = store()
        return self._answer(0, "Faktura została wystawiona", Identyfikator=pk)

    def _get(self, request: RecordedRequest) -> FakeResponse:
        name = request.path.rsplit("/", 1)[-1]
        pk = name.removesuffix(".json")
        invoice = self.invoices.get(int(pk)) if pk.isdigit() else None
        if "/korekta/" in request.path:
            invoice = self.corrections.get(int(pk)) if pk.isdigit() else None
        if invoice is None:
            return self._answer(201, "Nie znaleziono faktury")
        return self._answer(0, "", PelnyNumer=invoice["PelnyNumer"], Brutto=invoice["Brutto"])

    def _correct(self, request: RecordedRequest) -> FakeResponse:
        source = request.path.rsplit("/", 1)[-1].removesuffix(".json")
        if not source.isdigit() or int(source) not in self.invoices:
            return self._answer(201, "Nie znaleziono faktury korygowanej")
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self._answer(200, "Niepoprawna zawartość żądania")
        if not data.get("PowodKorekty") or not data.get("DataWystawienia"):
            return self._answer(201, "Brak powodu korekty lub daty")
        error = self._validate_positions(data.get("Pozycje"))
        if error:
            return self._answer(201, error)
        pk = next(self._ids)
        self.corrections[pk] = {
            **data,
            "source": int(source),
            "PelnyNumer": f"KOR {len(self.corrections) + 1}/11/2026",
            "Brutto": "0.00",
        }
        return self._answer(0, "Korekta została wystawiona", Identyfikator=pk)

    def _list(self, request: RecordedRequest) -> FakeResponse:
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        if not query.get("dataOd") or not query.get("dataDo"):
            return self._answer(201, "Brak zakresu dat")
        rows = [
            {
                "FakturaId": pk,
                "PelnyNumer": inv["PelnyNumer"],
                "Brutto": inv["Brutto"],
                "NazwaKontrahenta": inv["Kontrahent"]["Nazwa"],
                "DataWystawienia": inv["DataWystawienia"],
            }
            for pk, inv in self.invoices.items()
            if query["dataOd"] <= inv["DataWystawienia"] <= query["dataDo"]
        ]
        return self._answer(0, "", Wynik=rows)
