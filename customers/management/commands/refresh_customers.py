"""Rebuild the customer list from orders, carts, consents and accounts (the backfill; safe to
run at any time: every row is recomputed from its sources)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from customers.directory import refresh_all, refresh_store


class Command(BaseCommand):
    help = "Recompute the customer list (Klienci) of one store or of every store."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, help="Only this store's id.")

    def handle(self, *args, store=None, **options):
        count = refresh_store(store_id=store) if store else refresh_all()
        self.stdout.write(f"{count} customers")
