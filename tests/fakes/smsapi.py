"""A local fake of SMSAPI.pl's SMS endpoint, speaking the documented protocol.

``POST /sms.do`` with ``Authorization: Bearer <token>`` and form fields ``to``, ``message``,
``from``, ``encoding``, ``format=json``, ``idx``, ``check_idx``, ``test``:

- success: HTTP 200 ``{"count": 1, "list": [{"id", "points", "number", "date_sent",
  "submitted_number", "status": "QUEUE"}]}``;
- errors: HTTP 200 ``{"error": <code>, "message": ...}``: 101 bad token, 13 no valid number
  (with ``invalid_numbers``), 11 empty message, 53 idx already used with ``check_idx=1``.

Test knobs: ``fail_next`` answers the next N requests with HTTP 503 (a provider outage);
``drop_after_accept`` accepts the next N messages and then closes the connection without an
answer (the "did it arrive?" case that idx + check_idx resolves).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeSmsapi:
    def __init__(self, token: str = "test-token"):
        self.token = token
        self.messages: list[dict] = []
        self.requests = 0
        self.fail_next = 0
        self.drop_after_accept = 0
        self._idx: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with fake._lock:
                    fake.requests += 1
                    if self.path.split("?")[0] != "/sms.do":
                        return self._answer(404, {"error": 404, "message": "Not found"})
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        return self._answer(503, {"error": 201, "message": "System internal error"})
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        return self._answer(401, {"error": 101, "message": "Authorization failed"})
                    if not form.get("message"):
                        return self._answer(
                            200, {"error": 11, "message": "Message too long or there is no message"}
                        )
                    number = "".join(ch for ch in form.get("to", "") if ch.isdigit())
                    if len(number) < 9:
                        return self._answer(
                            200,
                            {
                                "error": 13,
                                "message": "No correct phone numbers",
                                "invalid_numbers": [
                                    {
                                        "number": number,
                                        "submitted_number": form.get("to", ""),
                                        "message": "Invalid phone number",
                                    }
                                ],
                            },
                        )
                    idx = form.get("idx", "")
                    if idx and form.get("check_idx") == "1" and idx in fake._idx:
                        return self._answer(200, {"error": 53, "message": "Not unique idx"})
                    if idx:
                        fake._idx.add(idx)
                    message_id = f"{len(fake.messages) + 1:020d}"
                    fake.messages.append({"id": message_id, **form})
                    drop = fake.drop_after_accept > 0
                    if drop:
                        fake.drop_after_accept -= 1
                if drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                return self._answer(
                    200,
                    {
                        "count": 1,
                        "list": [
                            {
                                "id": message_id,
                                "points": 0.16,
                                "number": number,
                                "date_sent": int(time.time()),
                                "submitted_number": form.get("to", ""),
                                "status": "QUEUE",
                                "idx": idx or None,
                            }
                        ],
                    },
                )

        return Handler
