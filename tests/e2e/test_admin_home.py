"""The admin home page in a real browser: no sideways scroll at 1366 and 768 px, every figure's
link opens its list, the menu's sections open their pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from tests.orders.factories_after_sales import OrderFactory
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "haslo-testowe-123"


@pytest.mark.parametrize("width", [1366, 768])
def test_home_fits_the_screen_and_every_link_opens(page, live_store, width):
    for status in (Order.Status.PAID, Order.Status.PACKED, Order.Status.AWAITING_PAYMENT):
        OrderFactory(store=live_store, status=status, total=Decimal("123456.78"))
    user = SuperuserFactory(language="pl")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    assert page.locator("h1").inner_text() == "Dzień w skrócie"
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    # Every card's content stays inside its card.
    overflowing = page.locator(".kh-card").evaluate_all(
        "cards => cards.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText.slice(0, 40))"
    )
    assert overflowing == []
    links = page.locator(".kh a[href]").evaluate_all(
        "as => [...new Set(as.map(a => a.getAttribute('href')))]"
    )
    assert len(links) > 20
    for href in links:
        response = page.request.get(href, max_redirects=0)  # a login redirect would be a 302
        assert response.status == 200, href
