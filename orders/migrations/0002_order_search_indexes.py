"""Indexes for the admin's order search ("wyszukiwanie zamówień") on 1,000,000+ orders.

PostgreSQL: pg_trgm GIN indexes on UPPER(column) -- what Django's ``icontains`` compares -- for
substring search of number, email, names, company, product name and SKU, and on the digits of
the phone number; b-tree indexes for payment state + date and for amount ranges. Built
CONCURRENTLY (this migration is not atomic) so a live shop keeps taking orders while they build.

SQLite (the embedded default) has no trigram indexes: it gets the b-tree ones only.

The indexes are database-only: they are not in the models' Meta (the model definitions belong to
the orders data model), so the operations leave the migration state untouched and
``makemigrations`` never wants to drop them. See docs/decisions.md and
bench/results/order-search-*.md for the plans they give.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models
from django.db.models import F, Func, Value
from django.db.models.functions import Upper


class DatabaseOnlyIndex(migrations.operations.AddIndex):
    """Add an index in the database only (state untouched); ``postgresql_only`` skips other
    databases. On PostgreSQL the index is built CONCURRENTLY."""

    atomic = False
    reduces_to_sql = False

    def __init__(self, model_name, index, postgresql_only=False):
        super().__init__(model_name, index)
        self.postgresql_only = postgresql_only

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs["postgresql_only"] = self.postgresql_only
        return name, args, kwargs

    def state_forwards(self, app_label, state):
        pass

    def _applies(self, schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql" or not self.postgresql_only

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not self._applies(schema_editor):
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}"
            )
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not self._applies(schema_editor):
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)

    def describe(self):
        return f"Create database-only index {self.index.name} on {self.model_name}"


def trgm(expression, name):
    return GinIndex(OpClass(expression, name="gin_trgm_ops"), name=name)


def phone_digits():
    return Func(F("phone"), Value("[^0-9]"), Value(""), Value("g"), function="REGEXP_REPLACE")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        CreateExtension("pg_trgm"),
        # Substring search (trigram GIN) -- PostgreSQL only.
        DatabaseOnlyIndex("order", trgm(Upper("number"), "order_number_trgm"), postgresql_only=True),
        DatabaseOnlyIndex("order", trgm(Upper("email"), "order_email_trgm"), postgresql_only=True),
        DatabaseOnlyIndex("order", trgm(phone_digits(), "order_phone_digits_trgm"), postgresql_only=True),
        DatabaseOnlyIndex(
            "address", trgm(Upper("last_name"), "address_last_name_trgm"), postgresql_only=True
        ),
        DatabaseOnlyIndex(
            "address", trgm(Upper("first_name"), "address_first_name_trgm"), postgresql_only=True
        ),
        DatabaseOnlyIndex(
            "address", trgm(Upper("company_name"), "address_company_trgm"), postgresql_only=True
        ),
        DatabaseOnlyIndex(
            "orderline", trgm(Upper("product_name"), "order_line_product_trgm"), postgresql_only=True
        ),
        DatabaseOnlyIndex("orderline", trgm(Upper("sku"), "order_line_sku_trgm"), postgresql_only=True),
        # Filters and sorting -- every database.
        DatabaseOnlyIndex(
            "order",
            models.Index(fields=["store", "payment_status", "-created_at"], name="order_store_payment_idx"),
        ),
        DatabaseOnlyIndex("order", models.Index(fields=["store", "total"], name="order_store_total_idx")),
    ]
