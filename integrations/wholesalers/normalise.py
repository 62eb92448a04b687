"""From a raw feed row (strings as the wholesaler wrote them) to a checked, normalised item.

Row-level problems (a missing name, a negative price, a SKU longer than the shop allows) raise
:class:`RowError`: the row is logged in the run's error log and skipped, the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models import VatRate
from shop.identifiers import clean_gtin
from shop.money import round_money

from .pricing import PriceRules, net_of, shop_price
from .profile import Profile

SKU_MAX = 64
# What the catalog's columns hold: money is DECIMAL(12, 2), stock and grams are 32-bit integers.
# A number outside is refused with its row here, never left to the database (a DataError would
# abort the whole feed naming no row).
MONEY_MAX = Decimal("9999999999.99")
INT_MAX = 2_147_483_647
_NUMBER_JUNK = re.compile(r"[\s\u00a0]|PLN|zł|zl", re.IGNORECASE)
_FALSE = {"0", "false", "no", "n", "nie", "off", "inactive"}


class RowError(Exception):
    """This row cannot be imported; the message says why (for the merchant)."""


def _out_of_range(field: str, value: Any, maximum: Any) -> RowError:
    return RowError(
        _("The %(field)s %(value)s is out of range (at most %(max)s).")
        % {"field": field, "value": str(value)[:40], "max": maximum}
    )


def parse_decimal(value: Any, *, field: str, maximum: Decimal | int | None = None) -> Decimal | None:
    if value in (None, ""):
        return None
    text = _NUMBER_JUNK.sub("", str(value))
    if "," in text and "." in text:
        text = (
            text.replace(".", "").replace(",", ".")
            if text.rfind(",") > text.rfind(".")
            else text.replace(",", "")
        )
    else:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowError(
            _("%(field)s is not a number: %(value)s") % {"field": field, "value": str(value)[:40]}
        ) from None
    if not number.is_finite():
        raise RowError(_("%(field)s is not a number: %(value)s") % {"field": field, "value": str(value)[:40]})
    if maximum is not None and abs(number) > maximum:
        raise _out_of_range(field, value, maximum)
    return number


def parse_vat(value: Any, default: str) -> str:
    if value in (None, ""):
        return default
    text = str(value).strip().lower().rstrip("%").replace(",", ".")
    if text in ("zw", "exempt", "zw.", "np"):
        return VatRate.EXEMPT
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowError(_("Unknown VAT rate: %(value)s") % {"value": str(value)[:20]}) from None
    if 0 < number < 1:
        number *= 100
    if number == number.to_integral_value():
        key = str(int(number))
        if key in VatRate.values:
            return key
    raise RowError(_("Unknown VAT rate: %(value)s") % {"value": str(value)[:20]})


def parse_stock(value: Any, *, minus_one: int, warnings: list[str] | None = None) -> int | None:
    number = parse_decimal(value, field=_("stock"), maximum=INT_MAX)
    if number is None:
        return None
    if number == -1:
        return minus_one
    if number < 0:
        if warnings is not None:
            warnings.append(_("The stock is negative (%(value)s); it was set to 0.") % {"value": number})
        return 0
    return math.floor(number)


def clean_ean(value: Any, warnings: list[str] | None = None) -> str:
    """The feed's EAN/GTIN through the shop's one rule (``shop.identifiers.clean_gtin``: length and
    check digit); an invalid one is left empty with a row warning, never fails the row."""
    text = str(value or "").strip()
    try:
        return clean_gtin(re.sub(r"[\s-]", "", text))
    except ValidationError as exc:
        if warnings is not None:
            warnings.append(
                _("The EAN %(value)s is not valid (%(reason)s); it was left empty.")
                % {"value": text[:40], "reason": " ".join(exc.messages).rstrip(".")}
            )
        return ""


def digest(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _money_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def normalise(
    raw: dict[str, Any],
    *,
    mode: str,
    profile: Profile,
    rules: PriceRules,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Return the normalised item (JSON-safe) or raise RowError. What was imported but changed
    or looks wrong (a price of 0.00, negative stock set to 0, an EAN left out) is appended to
    ``warnings``, one message each, for the row's warning in the run log."""
    sku = (raw.get("sku") or "").strip()
    if not sku:
        raise RowError(_("The row has no SKU."))
    if len(sku) > SKU_MAX:
        raise RowError(_("The SKU is longer than %(n)d characters.") % {"n": SKU_MAX})
    vat = parse_vat(raw.get("vat"), rules.default_vat)
    cost_net = parse_decimal(raw.get("cost_net"), field=_("cost price"), maximum=MONEY_MAX)
    cost_gross = parse_decimal(raw.get("cost_gross"), field=_("cost price"), maximum=MONEY_MAX)
    feed_gross = parse_decimal(raw.get("price_gross"), field=_("price"), maximum=MONEY_MAX)
    compare_at = parse_decimal(raw.get("compare_at_gross"), field=_("compare-at price"), maximum=MONEY_MAX)
    for label, value in (
        (_("cost price"), cost_net),
        (_("cost price"), cost_gross),
        (_("price"), feed_gross),
    ):
        if value is not None and value < 0:
            raise RowError(_("The %(field)s is negative (%(value)s).") % {"field": label, "value": value})
    if cost_net is None and cost_gross is not None:
        cost_net = net_of(cost_gross, vat)
    if cost_net is not None:
        cost_net = round_money(cost_net)
    price = shop_price(rules=rules, vat=vat, cost_net=cost_net, feed_gross=feed_gross)
    if price is not None and price > MONEY_MAX:  # within range in the feed, not after the markup
        raise _out_of_range(_("price"), price, MONEY_MAX)
    if price is not None and price == 0 and warnings is not None:
        warnings.append(_("The price is 0.00: the product is sold for nothing."))
    stock = parse_stock(raw.get("stock"), minus_one=profile.stock_minus_one, warnings=warnings)
    active = str(raw.get("active") or "1").strip().lower() not in _FALSE
    item: dict[str, Any] = {
        "sku": sku,
        "key": (raw.get("key") or sku).strip()[:128],
        "supplier_code": (raw.get("supplier_code") or raw.get("key") or sku).strip()[:128],
        "price": _money_str(price),
        "compare_at": _money_str(compare_at)
        if compare_at is not None and price is not None and compare_at > price
        else None,
        "cost_net": _money_str(cost_net),
        "stock": stock,
        "active": active,
    }
    if mode == "stock":
        return item
    name = " ".join((raw.get("name") or "").split())
    if not name:
        raise RowError(_("The row has no product name."))
    if price is None:
        raise RowError(_("The row has no price: neither a cost price nor a retail price."))
    weight = parse_decimal(raw.get("weight"), field=_("weight"), maximum=INT_MAX)
    if weight is not None and weight < 0:
        raise RowError(_("The weight is negative."))
    grams = (
        0
        if weight is None
        else int((weight * (1000 if profile.weight_unit == "kg" else 1)).to_integral_value())
    )
    if grams > INT_MAX:
        raise _out_of_range(_("weight"), raw.get("weight"), f"{INT_MAX // 1000} kg")
    category = [
        p.strip()[:120] for p in (raw.get("category") or "").split(profile.category_separator) if p.strip()
    ]
    images = [u for u in (raw.get("images") or []) if u.lower().startswith(("http://", "https://"))]
    item.update(
        {
            "group": (raw.get("group") or sku).strip()[:128],
            "name": name[:200],
            "description": (raw.get("description") or "").strip(),
            "brand": (raw.get("brand") or "").strip()[:120],
            "ean": clean_ean(raw.get("ean"), warnings),
            "vat": vat,
            "category": category[:8],
            "weight": grams,
            "images": list(dict.fromkeys(images))[:20],
            # Lists of [name, value] pairs, not objects: PostgreSQL's jsonb does not keep key order,
            # and the order names the variant ("S / Różowy").
            "attributes": [[k[:80], str(v)[:80]] for k, v in (raw.get("attributes") or {}).items() if v],
            "parameters": [[k[:80], str(v)[:80]] for k, v in (raw.get("parameters") or {}).items() if v],
        }
    )
    manufacturer = _manufacturer(raw, warnings)
    if manufacturer:
        item["manufacturer"] = manufacturer
    safety = (raw.get("safety_information") or "").strip()[:5000]
    if safety:
        item["safety_information"] = safety
    return item


def _manufacturer(raw: dict[str, Any], warnings: list[str] | None) -> dict[str, str] | None:
    """GPSR manufacturer data of a row: a name, a postal address and an e-mail (an invalid
    e-mail is left out with a warning)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    name = " ".join((raw.get("manufacturer_name") or "").split())[:200]
    if not name:
        return None
    address = "\n".join(
        " ".join(line.split())
        for line in (raw.get("manufacturer_address") or "").splitlines()
        if line.strip()
    )[:500]
    email = (raw.get("manufacturer_email") or "").strip()[:254]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            if warnings is not None:
                warnings.append(
                    _("The manufacturer's e-mail %(email)s is not valid; left out.") % {"email": email[:80]}
                )
            email = ""
    return {"name": name, "address": address, "email": email}


def stock_digest(item: dict[str, Any]) -> str:
    return digest(
        [
            item.get("price"),
            item.get("compare_at"),
            item.get("cost_net"),
            item.get("stock"),
            item.get("active"),
        ]
    )
