"""Wholesaler feeds ("hurtownie"): one configurable importer driven by mapping profiles.

A profile (JSON, :mod:`.profile`) says where a feed's fields are; :mod:`.readers` streams XML and
CSV files into raw rows, :mod:`.normalise` turns a raw row into a checked item with prices from
:mod:`.pricing`, and :mod:`.importer` stages a whole feed and applies it to the catalog in one
transaction. :mod:`.connector` is the connector class that ties it to the framework.
"""
