"""BaseLinker (Base.com): inventory products, batched stock and price updates, orders, statuses.

``client`` speaks the protocol, ``orders`` reads its orders, ``connector`` is the channel
connector (registered on import)."""

from .client import API_URL, BaseLinkerClient, BaseLinkerError, is_limit_error
from .connector import BaseLinkerConnector
from .orders import parse_order

__all__ = [
    "API_URL",
    "BaseLinkerClient",
    "BaseLinkerConnector",
    "BaseLinkerError",
    "is_limit_error",
    "parse_order",
]
