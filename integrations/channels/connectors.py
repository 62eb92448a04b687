"""Imports every channel connector module so each registers itself (``ChannelsConfig.ready``).

Allegro lives in its own package (``integrations.channels.allegro``) and is imported when present.
"""

import importlib
import importlib.util

for _name in ("baselinker", "zalando", "google_merchant", "allegro"):
    if importlib.util.find_spec(f"integrations.channels.{_name}") is not None:
        importlib.import_module(f"integrations.channels.{_name}")
