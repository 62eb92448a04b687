"""The shop's terms at checkout: orders asks, the app that keeps the texts answers.

A storefront shopper ticks "I accept the terms and the privacy policy"; ``place_order`` then
calls the registered keeper twice inside the placing transaction: ``require(store=...)`` before
anything is taken (it raises ``CheckoutError`` when the store has published no terms to accept)
and ``record(order=...)`` once the order exists (which versions of the texts were accepted).
The keeper lives in a higher app (``content``), which registers itself in its ``AppConfig.ready``;
orders never imports it. Without a keeper nothing is checked or recorded.
"""

from __future__ import annotations

from typing import Protocol


class TermsKeeper(Protocol):
    def require(self, *, store) -> None: ...

    def record(self, *, order) -> None: ...


_keeper: TermsKeeper | None = None


def register(keeper: TermsKeeper | None) -> None:
    global _keeper
    _keeper = keeper


def require(*, store) -> None:
    if _keeper is not None:
        _keeper.require(store=store)


def record(*, order) -> None:
    if _keeper is not None:
        _keeper.record(order=order)
