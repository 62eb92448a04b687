"""Export or erase what cart recovery holds about one shopper (GDPR access and erasure)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from recovery import services
from shop.models import Store


class Command(BaseCommand):
    help = "Export (default) or erase (--erase) the cart-recovery data of an email address in a store."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--store", help="Store domain (default: the default store)")
        parser.add_argument("--erase", action="store_true", help="Erase instead of export")
        parser.add_argument(
            "--forget-unsubscribe",
            action="store_true",
            help="With --erase: also remove the unsubscribe entry (the address may then be contacted again)",
        )

    def handle(self, *args, email, store=None, erase=False, forget_unsubscribe=False, **options):
        shop = (
            Store.objects.filter(domain=store).first()
            if store
            else Store.objects.filter(is_default=True).first()
        )
        if shop is None:
            raise CommandError("No such store.")
        if erase:
            result = services.erase_shopper(store=shop, email=email, keep_suppression=not forget_unsubscribe)
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                json.dumps(services.export_shopper(store=shop, email=email), indent=2, ensure_ascii=False)
            )
