"""Real-browser fixtures: Playwright driving Debian's Chromium (/usr/bin/chromium).

In CI (CI=true) a missing browser is an error; on a laptop without Chromium the journeys skip
with the install command in the reason.
"""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the live server and ORM calls made
# from test code are still synchronous, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs it with apt-get")
        pytest.skip("Chromium not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    """A fresh browser context (own cookies) whose relative URLs go to the live server."""
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(
        base_url=live_server.url, locale="pl-PL", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_store(transactional_db, live_server):
    """The default store for the live server (answers on 'localhost'), its terms and privacy
    policy published (the checkout refuses orders without terms)."""
    from tests.content.factories import publish_legal_pages
    from tests.shop.factories import StoreFactory

    store = StoreFactory(domain="localhost", name="Sklep Testowy", is_default=True)
    publish_legal_pages(store)
    return store
