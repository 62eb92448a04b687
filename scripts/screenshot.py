#!/usr/bin/env python
"""Take the README's storefront screenshot: `python scripts/screenshot.py URL OUT.png [--mobile]`.

Drives Debian's Chromium with Playwright (no browser download)."""

import argparse

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--mobile", action="store_true")
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args()
    viewport = {"width": 390, "height": 844} if args.mobile else {"width": 1280, "height": 860}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport=viewport, locale="pl-PL")
        page.goto(args.url, wait_until="networkidle")
        page.screenshot(path=args.out, full_page=args.full_page)
        browser.close()


if __name__ == "__main__":
    main()
