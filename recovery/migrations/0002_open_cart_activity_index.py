"""The index that keeps the abandonment scan cheap at millions of carts.

The scan (recovery.services.detection) walks *open* carts in (last_activity_at, id) order from
its cursor; a partial index on exactly that keeps every batch an index range scan and leaves
ordered carts (the bulk of an old shop's table) out of the index altogether. It lives in
recovery's migrations because recovery is the one that reads carts this way.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS recovery_open_cart_activity_idx "
    "ON orders_cart (last_activity_at, id) WHERE status = 'open'"
)
DROP = "DROP INDEX IF EXISTS recovery_open_cart_activity_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
