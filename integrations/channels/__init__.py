"""Marketplaces and hubs (Allegro, BaseLinker, Zalando, Google Merchant API): listings pushed, orders imported."""
