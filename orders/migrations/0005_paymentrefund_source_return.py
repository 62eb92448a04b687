import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_payment_method_gateways"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentrefund",
            name="source",
            field=models.CharField(
                choices=[
                    ("manual", "by staff"),
                    ("return", "accepted return"),
                    ("cancellation", "order cancelled"),
                ],
                default="manual",
                max_length=12,
                verbose_name="triggered by",
            ),
        ),
        migrations.AddField(
            model_name="paymentrefund",
            name="return_request",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payment_refunds",
                to="orders.return",
                verbose_name="return",
            ),
        ),
    ]
