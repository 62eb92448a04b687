"""Text for files a merchant opens in a spreadsheet (CSV and XLSX exports): never a formula.

Shopper and feed text reaches those files (an e-mail ``=cmd|' /C calc'!A0``, a name
``=HYPERLINK(...)``, a wholesaler's SKU). Excel, LibreOffice and Google Sheets run a cell that
starts with ``= + - @`` (or a tab or carriage return before one) as a formula, so every text cell
that starts with one of those gets a leading single quote (OWASP "CSV injection"; ASVS 1.2.10
also names the NUL character). The quote shows, but the cell is inert text, also when it is
copied from an XLSX into a CSV. Numbers are not text: amounts and quantities are written as
numbers and never pass through here, so a negative amount stays a number.

The one copy of the rule, used by every writer (``reports.exports``, the sync error log and the
purchase-order CSV of ``integrations``). It lives in ``shop``, which every app may import.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def spreadsheet_text(value: str) -> str:
    """``value`` as an inert spreadsheet text cell: a leading ``'`` when it could start a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
