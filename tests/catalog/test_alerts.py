import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from catalog import alerts, stock
from catalog.models import BackInStockSubscription
from tests.catalog.factories import (
    BackInStockSubscriptionFactory,
    VariantFactory,
    WarehouseFactory,
    make_set,
)

pytestmark = pytest.mark.django_db


def _link(text: str, kind: str) -> str:
    return re.search(rf"http://localhost:8000(/powiadomienia/{kind}/[^/\s]+/)", text).group(1)


def _text(message) -> str:
    return message.body


def test_sign_up_confirm_and_receive_the_alert_once(
    client, store, mailoutbox, django_capture_on_commit_callbacks
):
    variant = VariantFactory(store=store, stock=0, product__name="Kurtka")
    url = variant.product.get_absolute_url()
    response = client.post(
        f"{url}powiadom/", {"email": "Ewa@Example.com", "variant": variant.pk}, follow=True
    )
    assert "Sprawdź skrzynkę" in response.content.decode()
    sub = BackInStockSubscription.objects.get()
    assert sub.email == "ewa@example.com" and sub.confirmed_at is None
    [mail] = mailoutbox
    assert mail.to == ["ewa@example.com"] and "Potwierdź" in mail.subject
    assert mail.alternatives[0][1] == "text/html" and "<a href=" in mail.alternatives[0][0]
    # Signing up twice does not duplicate the row.
    client.post(f"{url}powiadom/", {"email": "ewa@example.com", "variant": variant.pk})
    assert BackInStockSubscription.objects.count() == 1

    page = client.get(_link(mail.body, "potwierdz"))
    assert page.status_code == 200 and "Potwierdź powiadomienie" in page.content.decode()
    confirm = client.post(_link(mail.body, "potwierdz"))
    assert confirm.status_code == 200 and "Powiadomienie potwierdzone" in confirm.content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is not None

    warehouse = WarehouseFactory(store=store)
    # Callbacks queued while running callbacks (event delivery -> alert task) run too.
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(variant=variant, warehouse=warehouse, delta=3, reason="delivery")
    assert len(mailoutbox) == 3  # confirmation, repeated confirmation, alert
    alert = next(m for m in mailoutbox if "znów dostępny" in m.subject)
    assert "/p/" in alert.body and "/powiadomienia/wypisz/" in alert.body
    assert alert.extra_headers["List-Unsubscribe"].startswith("<http")
    assert not BackInStockSubscription.objects.exists()  # forgotten after the one email
    with django_capture_on_commit_callbacks(execute=True):
        stock.adjust_stock(variant=variant, warehouse=warehouse, delta=1)
    assert len(mailoutbox) == 3


def test_unconfirmed_or_still_sold_out_get_nothing(store):
    variant = VariantFactory(store=store, stock=0)
    BackInStockSubscriptionFactory(variant=variant, confirmed_at=None)
    confirmed = BackInStockSubscriptionFactory(variant=variant)
    assert alerts.notify_back_in_stock(variant_ids=[variant.pk]) == 0
    assert BackInStockSubscription.objects.filter(pk=confirmed.pk).exists()
    stock.adjust_stock(variant=variant, warehouse=WarehouseFactory(store=store), delta=1)
    assert alerts.notify_back_in_stock(variant_ids=[variant.pk]) == 1
    assert BackInStockSubscription.objects.filter(confirmed_at__isnull=True).count() == 1


def test_old_unconfirmed_wishes_are_forgotten(store):
    variant = VariantFactory(store=store, stock=1)
    old = BackInStockSubscriptionFactory(variant=variant, confirmed_at=None)
    BackInStockSubscription.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    BackInStockSubscriptionFactory(variant=variant)
    alerts.notify_back_in_stock(variant_ids=[variant.pk])
    assert not BackInStockSubscription.objects.exists()


def test_a_set_alert_fires_when_its_component_returns(store):
    part = VariantFactory(store=store, stock=0)
    bundle = make_set(store=store, components=[(part, 1)])
    BackInStockSubscriptionFactory(variant=bundle)
    stock.adjust_stock(variant=part, warehouse=WarehouseFactory(store=store), delta=2)
    assert alerts.notify_back_in_stock(variant_ids=[part.pk]) == 1


def test_unsubscribe(client, store):
    sub = BackInStockSubscriptionFactory(variant=VariantFactory(store=store, stock=0))
    token = alerts._token(sub, alerts.UNSUBSCRIBE_SALT)
    page = client.get(f"/powiadomienia/wypisz/{token}/")
    assert page.status_code == 200 and sub.email in page.content.decode()
    client.post(f"/powiadomienia/wypisz/{token}/")
    assert not BackInStockSubscription.objects.filter(pk=sub.pk).exists()
    assert "Nie ma czego anulować" in client.get(f"/powiadomienia/wypisz/{token}/").content.decode()
    assert client.get("/powiadomienia/wypisz/garbage/").status_code == 400
    assert client.get("/powiadomienia/potwierdz/garbage/").status_code == 400


def test_a_tampered_unsubscribe_link_is_refused_like_the_other_signed_links(client, store):
    """A link we signed whose wish is gone says "nothing to cancel" (200); a link whose signature
    does not match, or that names another wish, is refused (400) and cancels nothing."""
    sub = BackInStockSubscriptionFactory(variant=VariantFactory(store=store, stock=0))
    other = BackInStockSubscriptionFactory(variant=VariantFactory(store=store, stock=0))
    token = alerts._token(sub, alerts.UNSUBSCRIBE_SALT)
    value, _colon, signature = token.rpartition(":")
    flipped = value + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = alerts._token(other, alerts.CONFIRM_SALT)  # signed, but for another purpose
    for bad in (flipped, forged, token[:-1]):
        page = client.get(f"/powiadomienia/wypisz/{bad}/")
        assert page.status_code == 400, bad
        assert "Nie ma czego anulować" not in page.content.decode()
        assert client.post(f"/powiadomienia/wypisz/{bad}/").status_code == 400
    assert BackInStockSubscription.objects.filter(pk__in=[sub.pk, other.pk]).count() == 2
    assert client.get(f"/powiadomienia/wypisz/{token}/").status_code == 200


def test_bad_sign_ups(client, store, settings):
    variant = VariantFactory(store=store, stock=0)
    url = f"{variant.product.get_absolute_url()}powiadom/"
    response = client.post(url, {"email": "not-an-email", "variant": variant.pk}, follow=True)
    assert response.status_code == 200 and "adres e-mail" in response.content.decode().lower()
    other = VariantFactory(store=store, stock=0)
    response = client.post(url, {"email": "a@example.com", "variant": other.pk}, follow=True)
    assert "Wybierz wariant" in response.content.decode()
    assert client.post(url, {"email": "a@example.com", "variant": "abc"}).status_code == 302
    assert client.get(url).status_code == 405
    in_stock = VariantFactory(store=store, stock=5)
    response = client.post(
        f"{in_stock.product.get_absolute_url()}powiadom/",
        {"email": "a@example.com", "variant": in_stock.pk},
        follow=True,
    )
    assert "możesz go zamówić" in response.content.decode()
    assert not BackInStockSubscription.objects.exists()


def test_sign_ups_are_rate_limited_per_ip(client, store, settings):
    settings.CATALOG_ALERT_RATE_LIMIT = 2
    variant = VariantFactory(store=store, stock=0)
    url = f"{variant.product.get_absolute_url()}powiadom/"
    for i in range(2):
        client.post(url, {"email": f"a{i}@example.com", "variant": variant.pk})
    response = client.post(url, {"email": "a9@example.com", "variant": variant.pk}, follow=True)
    assert "Zbyt wiele prób" in response.content.decode()
    assert BackInStockSubscription.objects.count() == 2
    other_ip = client.post(url, {"email": "b@example.com", "variant": variant.pk}, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 302
    assert BackInStockSubscription.objects.count() == 3


def test_shoppers_behind_a_trusted_proxy_get_a_bucket_each(client, store, settings):
    # Behind one trusted proxy every request comes from the proxy's address: the limit must go by
    # the shopper's address it appends to X-Forwarded-For (shop.ratelimit.client_ip), or one
    # busy shopper would lock everybody out of back-in-stock alerts.
    settings.TRUSTED_PROXIES = 1
    settings.CATALOG_ALERT_RATE_LIMIT = 2
    variant = VariantFactory(store=store, stock=0)
    url = f"{variant.product.get_absolute_url()}powiadom/"
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def sign_up(email, shopper):
        return client.post(
            url, {"email": email, "variant": variant.pk}, HTTP_X_FORWARDED_FOR=shopper, **proxy
        )

    assert [sign_up(f"a{i}@example.com", "203.0.113.7").status_code for i in range(2)] == [302, 302]
    refused = sign_up("a9@example.com", "203.0.113.7")
    assert BackInStockSubscription.objects.count() == 2
    # A spoofed first hop does not give the same shopper a new bucket...
    sign_up("a8@example.com", "1.2.3.4, 203.0.113.7")
    assert BackInStockSubscription.objects.count() == 2
    # ...while another shopper behind the same proxy still signs up.
    assert sign_up("b@example.com", "198.51.100.20").status_code == 302
    assert BackInStockSubscription.objects.filter(email="b@example.com").exists()
    assert refused.status_code == 302 and BackInStockSubscription.objects.count() == 3


def test_email_templates_extend_the_shop_bases():
    root = Path(__file__).resolve().parents[2] / "catalog" / "templates" / "catalog" / "email"
    for path in root.iterdir():
        base = "email/base.html" if path.suffix == ".html" else "email/base.txt"
        assert f'{{% extends "{base}" %}}' in path.read_text(), path.name


def test_confirmation_link_get_writes_nothing_only_the_pages_button_confirms(store, mailoutbox):
    """Mail-security scanners follow every link with GET: that must not confirm the alert."""
    from django.test import Client

    variant = VariantFactory(store=store, stock=0, product__name="Kurtka")
    sub = alerts.subscribe(variant=variant, email="ewa@example.com")
    link = _link(mailoutbox[0].body, "potwierdz")
    browser = Client(enforce_csrf_checks=True)
    for _ in range(3):  # a scanner, a preview, a second scanner
        page = browser.get(link)
        assert page.status_code == 200
        assert page["Cache-Control"].startswith("max-age=0")
    sub.refresh_from_db()
    assert sub.confirmed_at is None
    html = page.content.decode()
    assert 'method="post"' in html and "Potwierdź powiadomienie" in html
    assert "Powiadomienie potwierdzone" not in html
    # A POST without the page's CSRF token (a bot replaying the URL) is refused.
    assert browser.post(link).status_code == 403
    sub.refresh_from_db()
    assert sub.confirmed_at is None
    token = browser.cookies["csrftoken"].value
    done = browser.post(link, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and "Powiadomienie potwierdzone" in done.content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is not None
    # Once confirmed, the link's page says so (still without writing anything).
    assert "Powiadomienie potwierdzone" in browser.get(link).content.decode()


def test_confirmation_link_tampered_or_from_another_store_is_refused(client, store):
    variant = VariantFactory(store=store, stock=0)
    sub = BackInStockSubscriptionFactory(variant=variant, confirmed_at=None)
    token = alerts._token(sub, alerts.CONFIRM_SALT)
    assert client.get(f"/powiadomienia/potwierdz/{token}x/").status_code == 400
    assert client.post(f"/powiadomienia/potwierdz/{token}x/").status_code == 400
    sub.refresh_from_db()
    assert sub.confirmed_at is None
