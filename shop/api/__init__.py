"""The shop's REST API and webhooks (a Django app of its own, label ``api``).

Shared infrastructure lives here -- API keys and customer tokens, authentication, scopes, the one
error format, throttling, idempotency, pagination, the OpenAPI schema and webhooks -- while each
app exposes its resources from its own ``api`` module (``catalog/api.py``, ``orders/api/``,
``recovery/api.py``, ``reports/api.py``), wired together in :mod:`shop.api.urls`.
"""
