"""The orders services' refusals as API errors (status and code chosen at the edge)."""

from __future__ import annotations

from contextlib import contextmanager

from shop.api.errors import ApiError, Conflict
from shop.api.throttling import throttled

from ..accounts import AccountError
from ..returns import ReturnError
from ..services import InvalidTransition, OrdersError, OutOfStock, RateLimited, TotalChanged


def _fields(exc) -> dict:
    field = getattr(exc, "field", None)
    return {field: [exc.message]} if field else {}


@contextmanager
def refusals():
    """Translate the orders app's exceptions raised inside the block."""
    try:
        yield
    except OutOfStock as exc:
        shortages = {str(v.pk): [str(n)] for v, n in exc.shortages.items()}
        raise Conflict(exc.message, code="out_of_stock", fields=shortages) from exc
    except TotalChanged as exc:
        raise Conflict(
            exc.message, code="total_changed", fields={"expected_total": [str(exc.total)]}
        ) from exc
    except RateLimited as exc:
        raise throttled(exc.message, wait=exc.retry_after or 60) from exc
    except InvalidTransition as exc:
        raise Conflict(exc.message, code="invalid_transition", fields={"status": [exc.message]}) from exc
    except OrdersError as exc:
        raise ApiError(exc.message, code="refused", status_code=422, fields=_fields(exc)) from exc
    except ReturnError as exc:
        message = getattr(exc, "message", str(exc))
        field = getattr(exc, "field", None)
        raise ApiError(
            message, code="refused", status_code=422, fields={field: [message]} if field else {}
        ) from exc
    except AccountError as exc:
        raise ApiError(exc.message, code="refused", status_code=422, fields=_fields(exc)) from exc
