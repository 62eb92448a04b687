"""Invoice numbering per seller (the company's NIP) instead of per store.

The old per-store counters are dropped: a counter is re-created on first use from the highest
number already issued that month by the stores that share the NIP (``orders.invoices``), so the
next number follows every number the seller has printed, whichever store printed it.
"""

from django.db import migrations, models


def drop_store_counters(apps, schema_editor):
    apps.get_model("orders", "InvoiceCounter").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_ksef"),
        ("shop", "__first__"),
    ]

    operations = [
        migrations.RunPython(drop_store_counters, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="invoicecounter", name="invoice_counter_per_month"),
        migrations.RemoveField(model_name="invoicecounter", name="store"),
        migrations.AddField(
            model_name="invoicecounter",
            name="seller_tax_id",
            field=models.CharField(default="", max_length=10),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="invoicecounter",
            constraint=models.UniqueConstraint(
                fields=("seller_tax_id", "kind", "year", "month"), name="invoice_counter_per_seller_month"
            ),
        ),
    ]
