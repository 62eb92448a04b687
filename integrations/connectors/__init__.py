"""The connector framework: a connector is a class with declared capabilities and a typed
configuration schema, registered by its ``type`` (see :mod:`integrations.connectors.base`)."""

from .base import (
    Capability,
    ConfigField,
    Connector,
    RunContext,
    SendResult,
    get_connector_class,
    register,
    registered,
)

__all__ = [
    "Capability",
    "ConfigField",
    "Connector",
    "RunContext",
    "SendResult",
    "get_connector_class",
    "register",
    "registered",
]
