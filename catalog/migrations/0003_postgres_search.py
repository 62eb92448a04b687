"""PostgreSQL-only search support: pg_trgm, a trigram index and a full-text index on the
normalised ``Product.search_text``. On SQLite every operation here is a no-op (the storefront
falls back to ``icontains`` there)."""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

TRGM_INDEX = "catalog_product_search_trgm"
FTS_INDEX = "catalog_product_search_fts"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON catalog_product USING gin (search_text gin_trgm_ops)"
    )
    # Must be the very expression catalog.selectors.search builds (SearchVector with config 'simple').
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {FTS_INDEX} ON catalog_product "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {FTS_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_download_grant")]

    operations = [
        # Both operations skip themselves on databases other than PostgreSQL.
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
