"""Seed a demo shop a merchant would recognise. Idempotent: a second run adds nothing.

The shop app creates the store and the admin user; every installed app that has a ``demo``
module with ``seed(*, store, rng)`` adds its part, in INSTALLED_APPS order (catalog before
orders before recovery), so this command never imports a higher app by name.
"""

import importlib
import importlib.util
import os
import random

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from shop.models import Store, User

DEMO_SEED = 20261123


class Command(BaseCommand):
    help = "Create (or complete) the demo shop: store, admin user, catalog, orders, campaigns."

    def add_arguments(self, parser):
        parser.add_argument("--domain", default=os.environ.get("DEMO_STORE_DOMAIN", "localhost"))
        parser.add_argument("--admin-email", default=os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com"))
        parser.add_argument("--admin-password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "koszyk-admin"))

    def handle(self, *args, **options):
        with transaction.atomic():
            store, created = Store.objects.get_or_create(
                domain=options["domain"],
                defaults={
                    "name": "Sklep Koszyk",
                    "is_default": not Store.objects.filter(is_default=True).exists(),
                    "sender_email": "sklep@koszyk.example",
                    "support_email": "pomoc@koszyk.example",
                    "phone": "+48 22 123 45 67",
                    "company_name": "Koszyk Demo sp. z o.o.",
                    "company_address": "ul. Marszałkowska 1\n00-001 Warszawa",
                    "company_tax_id": "5260250274",
                    "bank_account": "PL61 1090 1014 0000 0712 1981 2874",
                },
            )
            if not User.objects.filter(email=options["admin_email"]).exists():
                User.objects.create_superuser(
                    options["admin_email"], options["admin_password"], first_name="Administrator"
                )
        self.stdout.write(f"Store: {store} ({'created' if created else 'exists'})")
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            with transaction.atomic():
                module.seed(store=store, rng=random.Random(f"{DEMO_SEED}:{config.label}"))
            self.stdout.write(f"Seeded {config.label}")
        self.stdout.write(self.style.SUCCESS(f"Demo shop ready. Admin: {options['admin_email']}"))
