"""Demo data for recovery: the default campaign and one abandoned cart with consent.

Run by ``manage.py seed_demo`` (idempotent). With short delays (docs/recovery.md, "Demo") its
reminders land in ``var/mail/`` within minutes:

    RECOVERY_IDLE_MINUTES=0.1 RECOVERY_DELAY_SCALE=0.002 RECOVERY_QUIET_HOURS= \\
    RECOVERY_FREQUENCY_CAP_HOURS=0 RECOVERY_DETECT_EVERY_SECONDS=10 RECOVERY_DISPATCH_EVERY_SECONDS=10
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

DEMO_EMAIL = "anna.demo@example.com"


@transaction.atomic
def seed(*, store, rng) -> None:
    from catalog.models import Product, StockItem, Variant, Warehouse
    from orders.consent import CONSENT_VERSION, consent_text
    from orders.models import Cart, CartLine, ConsentRecord

    from .services import ensure_default_campaign

    ensure_default_campaign(store=store)
    if Cart.objects.filter(store=store, email=DEMO_EMAIL).exists():
        return
    variant = (
        Variant.objects.filter(store=store, is_active=True, product__is_published=True).order_by("pk").first()
    )
    if variant is None:
        product, _ = Product.objects.get_or_create(
            store=store,
            slug="kubek-demo-przypomnienia",
            defaults={
                "name": "Kubek ceramiczny (demo)",
                "is_published": True,
                "published_at": timezone.now(),
            },
        )
        variant, _ = Variant.objects.get_or_create(
            store=store, sku="DEMO-RECOVERY-1", defaults={"product": product, "price": Decimal("49.00")}
        )
        warehouse, _ = Warehouse.objects.get_or_create(store=store, code="demo", defaults={"name": "Demo"})
        StockItem.objects.get_or_create(variant=variant, warehouse=warehouse, defaults={"quantity": 10})
    now = timezone.now()
    text = consent_text(store.name)
    cart = Cart.objects.create(
        store=store,
        email=DEMO_EMAIL,
        email_captured_at=now,
        marketing_consent=True,
        consent_text=text,
        consent_version=CONSENT_VERSION,
        consent_at=now,
        language=store.default_language,
        checkout={"address": {"first_name": "Anna"}},
        # Idle long enough to count as abandoned at the first scan, recent enough for the lookback.
        last_activity_at=now - timedelta(minutes=rng.randint(31, 50)),
    )
    CartLine.objects.create(
        cart=cart, variant=variant, quantity=rng.randint(1, 2), price_when_added=variant.price
    )
    ConsentRecord.objects.create(
        store=store,
        email=DEMO_EMAIL,
        granted=True,
        text=text,
        version=CONSENT_VERSION,
        cart=cart,
        source="demo",
    )
