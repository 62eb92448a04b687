"""Allegro (allegro.pl) REST API connector: OAuth device flow, offers through
``sale/product-offers``, batch stock and price commands, orders from ``order/events`` and
checkout forms, fulfilment status back. See ``docs/integrations.md`` ("Allegro").

Importing the package registers the connector (``integrations.channels.connectors`` does it at
start-up) and its Celery tasks.
"""

from . import connector, tasks  # noqa: F401 - registers the connector and the tasks
