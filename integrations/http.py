"""Moved to :mod:`integrations.connector_client` (this name shadowed the standard library's
``http``). Kept only while ``integrations/wholesalers/importer`` still imports it from here;
delete it once that package imports ``..connector_client``."""

from .connector_client import *  # noqa: F403
from .connector_client import __all__  # noqa: F401
