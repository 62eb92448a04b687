import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockItem, Variant
from orders.models import Cart
from recovery import services, tokens
from recovery.models import Reminder, Restore, Suppression, TrackedCart
from recovery.views import PIXEL
from tests.recovery.factories import make_cart, make_order, make_variant
from tests.recovery.helpers import hours, run_due

pytestmark = pytest.mark.django_db


def sent_reminder(store, settings, *, step=1, **kwargs):
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    cart = make_cart(store, **kwargs)
    services.detect_abandoned()
    run_due(hours(1))
    if step == 2:
        run_due(hours(24))
    tracked = TrackedCart.objects.get(cart=cart)
    return cart, tracked, tracked.reminders.get(step__position=step)


def restore_url(tracked, reminder):
    token = tokens.restore_token(tracked_id=tracked.pk, cart_id=tracked.cart_id, reminder_id=reminder.pk)
    return reverse("recovery:restore", args=[token])


def follow_link(client, url):
    """What a real browser does with a restore link: GET the page, submit its form (continue.js
    does it at once; the button without JavaScript), land on the result."""
    page = client.get(url)
    assert page.status_code == 200 and b'data-testid="recovery-continue"' in page.content
    return client.post(url, follow=True)


def writes():
    """Everything a restore or click could write."""
    from django.contrib.sessions.models import Session

    from orders.models import CartLine
    from recovery.models import TrackingEvent

    return (
        Cart.objects.count(),
        CartLine.objects.count(),
        Restore.objects.count(),
        TrackingEvent.objects.count(),
        Session.objects.count(),
        list(Reminder.objects.values_list("pk", "clicked_at", "opened_at").order_by("pk")),
        list(TrackedCart.objects.values_list("pk", "clicked_at", "restored_at", "state").order_by("pk")),
        list(Cart.objects.values_list("pk", "voucher_id").order_by("pk")),
    )


def test_restore_on_another_device_fills_a_fresh_cart_with_current_prices_and_the_coupon(
    client, store, settings
):
    variant = make_variant(store, price="100.00")
    cart, tracked, reminder = sent_reminder(store, settings, step=2, variants=[variant], quantity=2)
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("90.00"))
    response = follow_link(client, restore_url(tracked, reminder))
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("recovery:restored"), 302)]
    html = response.content.decode()
    assert "anna@example.com" not in html and "Anna" not in html  # no personal data
    assert "_auth_user_id" not in client.session  # nobody logged in
    token = client.session["cart_token"]
    restored = Cart.objects.get(token=token)
    assert restored.pk != cart.pk and restored.email == ""
    line = restored.lines.get()
    assert (line.variant_id, line.quantity, line.price_when_added) == (variant.pk, 2, Decimal("90.00"))
    assert restored.voucher == reminder.voucher
    assert reminder.voucher.code in html
    assert Restore.objects.get().cart == restored
    reminder.refresh_from_db()
    assert reminder.clicked_at is not None
    # Reloading the result page restores nothing again.
    assert client.get(reverse("recovery:restored")).content.count(b'data-testid="recovery-line"') == 1
    assert Restore.objects.count() == 1
    # The same link again in the same session: same cart, no duplicate lines.
    follow_link(client, restore_url(tracked, reminder))
    assert Cart.objects.get(token=client.session["cart_token"]).lines.get().quantity == 2


def test_a_plain_get_of_restore_and_click_links_writes_nothing(store, settings):
    """Mail-security scanners GET (or HEAD) every link of a message: that must not create a cart,
    a restore or a click, apply the coupon, or make a later ordinary order "after a click"."""
    from django.test import Client

    cart, tracked, reminder = sent_reminder(store, settings, step=2)
    assert reminder.voucher is not None
    click = reverse("recovery:click", args=[tokens.click_token(reminder_id=reminder.pk, path="/p/kubek/")])
    before = writes()
    scanner = Client(enforce_csrf_checks=True)
    for url in (restore_url(tracked, reminder), click):
        page = scanner.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-testid="recovery-continue"' in html and 'method="post"' in html
        assert "csrfmiddlewaretoken" in html and "recovery/continue.js" in html
        assert reminder.voucher.code not in html
        assert scanner.head(url).status_code in (200, 405)
        # A POST without the page's CSRF token (a forged or replayed request) is refused too.
        assert scanner.post(url).status_code == 403
    assert writes() == before
    # So a later ordinary order by the same shopper is not "after a click".
    order = make_order(store, email=cart.email)
    assert services.attribution.handle_order_placed(order_id=order.pk) == "none"
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_via) == ("ordered", "")


def test_the_page_s_post_restores_and_counts_one_click(store, settings):
    from django.test import Client

    from recovery.models import TrackingEvent

    _cart, tracked, reminder = sent_reminder(store, settings, step=2)
    browser = Client(enforce_csrf_checks=True)
    url = restore_url(tracked, reminder)
    page = browser.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = browser.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == reverse("recovery:restored")
    restored = Cart.objects.get(token=browser.session["cart_token"])
    assert restored.voucher == reminder.voucher and restored.lines.count() == 1
    assert Restore.objects.get().cart == restored
    assert TrackingEvent.objects.filter(kind="click").count() == 1
    reminder.refresh_from_db()
    tracked.refresh_from_db()
    assert reminder.clicked_at is not None and tracked.clicked_at is not None


def test_restore_over_a_sold_out_cart_does_not_say_the_cart_is_back(client, store, settings):
    gone = make_variant(store, stock=1)
    _cart, tracked, reminder = sent_reminder(store, settings, variants=[gone])
    StockItem.objects.filter(variant=gone).update(quantity=0)
    response = follow_link(client, restore_url(tracked, reminder))
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="recovery-gone"' in html
    heading = re.search(r'data-testid="recovery-heading">([^<]+)<', html).group(1)
    assert heading == "Te produkty zostały wyprzedane"
    assert "Twój koszyk wrócił" not in html


def test_restore_says_which_items_are_gone(client, store, settings):
    gone = make_variant(store, stock=1)
    kept = make_variant(store, stock=5)
    _cart, tracked, reminder = sent_reminder(store, settings, variants=[gone, kept])
    StockItem.objects.filter(variant=gone).update(quantity=0)
    response = follow_link(client, restore_url(tracked, reminder))
    assert response.status_code == 200
    assert b'data-testid="recovery-gone"' in response.content
    assert gone.product.name.encode() in response.content


def test_expired_and_tampered_tokens_get_a_friendly_page(client, store, settings):
    _cart, tracked, reminder = sent_reminder(store, settings)
    url = restore_url(tracked, reminder)
    settings.RECOVERY_RESTORE_TOKEN_DAYS = -1  # every token is older than that
    response = client.get(url)
    assert response.status_code == 410
    assert b'data-problem="expired"' in response.content
    settings.RECOVERY_RESTORE_TOKEN_DAYS = 14
    response = client.get(url[:-8] + "AAAAAAA/")
    assert response.status_code == 400 and b'data-problem="invalid"' in response.content
    # A token signed for another purpose (the click salt) is refused too.
    other = signing.dumps({"t": tracked.pk, "c": tracked.cart_id, "r": None}, salt=tokens.CLICK_SALT)
    assert client.get(reverse("recovery:restore", args=[other])).status_code == 400
    # Cart scope: a token for another cart id does not open this one.
    forged = tokens.restore_token(tracked_id=tracked.pk, cart_id=tracked.cart_id + 999, reminder_id=None)
    assert client.get(reverse("recovery:restore", args=[forged])).status_code == 400


def test_restore_of_an_ordered_cart(client, store, settings):
    cart, tracked, reminder = sent_reminder(store, settings)
    Cart.objects.filter(pk=cart.pk).update(status="ordered")
    response = client.get(restore_url(tracked, reminder))
    assert response.status_code == 200 and b'data-problem="ordered"' in response.content
    response = client.post(restore_url(tracked, reminder))
    assert response.status_code == 200 and b'data-problem="ordered"' in response.content
    assert not Restore.objects.exists()


def test_click_redirects_only_within_the_store(client, store, settings):
    _cart, tracked, reminder = sent_reminder(store, settings)
    good = reverse("recovery:click", args=[tokens.click_token(reminder_id=reminder.pk, path="/p/kubek/")])
    page = client.get(good)
    assert page.status_code == 200 and b'data-testid="recovery-continue"' in page.content
    response = client.post(good)
    assert response.status_code == 302 and response["Location"] == "/p/kubek/"
    reminder.refresh_from_db()
    assert reminder.clicked_at is not None and reminder.opened_at is not None
    tracked.refresh_from_db()
    assert tracked.clicked_at is not None
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        url = reverse("recovery:click", args=[tokens.click_token(reminder_id=reminder.pk, path=evil)])
        assert client.post(url)["Location"] == "/"
    assert client.get(reverse("recovery:click", args=["nonsense"])).status_code == 400
    assert client.post(reverse("recovery:click", args=["nonsense"])).status_code == 400


def test_open_pixel(client, store, settings):
    _cart, _tracked, reminder = sent_reminder(store, settings)
    response = client.get(reverse("recovery:open", args=[tokens.open_token(reminder_id=reminder.pk)]))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content == PIXEL and "no-store" in response["Cache-Control"]
    reminder.refresh_from_db()
    assert reminder.opened_at is not None
    assert client.get(reverse("recovery:open", args=["bad"])).status_code == 200


def test_one_click_unsubscribe_without_login_or_csrf(store, settings):
    from django.test import Client

    cart, tracked, _reminder = sent_reminder(store, settings)
    url = reverse(
        "recovery:unsubscribe", args=[tokens.unsubscribe_token(store_id=store.pk, email=cart.email)]
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200 and b"recovery-unsubscribe-confirm" in page.content
    assert not Suppression.objects.exists()  # a GET (link scanners) changes nothing
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.get().email == "anna@example.com"
    assert Suppression.objects.get().source == "one-click"
    tracked.refresh_from_db()
    assert tracked.state == "opted_out"
    assert not Reminder.objects.filter(status="planned").exists()
    assert Client().post(reverse("recovery:unsubscribe", args=["forged"])).status_code == 400


def test_list_unsubscribe_is_one_working_one_click_url(store, settings):
    """No mailto (a mailbox nothing reads): the header's only entry is the URL a mail client
    POSTs to (RFC 8058), and that POST unsubscribes."""
    from urllib.parse import urlsplit

    from django.core import mail
    from django.test import Client

    cart, _tracked, _reminder = sent_reminder(store, settings)
    message = mail.outbox[-1]
    header = message.extra_headers["List-Unsubscribe"]
    assert "mailto:" not in header
    [url] = re.findall(r"<([^>]+)>", header)
    assert re.fullmatch(r"<[^>]+>", header.strip())
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.get(store=store).email == cart.email


def test_unsubscribe_token_of_another_store_is_refused(client, store):
    token = tokens.unsubscribe_token(store_id=store.pk + 1, email="a@example.com")
    assert client.post(reverse("recovery:unsubscribe", args=[token])).status_code == 400


def test_shopper_timezone_beacon(client, store):
    cart = make_cart(store, idle_minutes=1)
    session = client.session
    session["cart_token"] = cart.token
    session.save()
    assert client.post(reverse("recovery:timezone"), {"tz": "America/New_York"}).status_code == 200
    assert TrackedCart.objects.get(cart=cart).shopper_timezone == "America/New_York"
    assert client.post(reverse("recovery:timezone"), {"tz": "Mars/Olympus"}).status_code == 400
    # Detection keeps the zone it was given.
    from django.utils import timezone as tz

    Cart.objects.filter(pk=cart.pk).update(last_activity_at=tz.now() - timedelta(minutes=40))
    services.detect_abandoned()
    assert TrackedCart.objects.get(cart=cart).shopper_timezone == "America/New_York"


def test_push_opt_in(client, store, settings):
    settings.VAPID_PUBLIC_KEY = "BPublicKey"
    cart = make_cart(store, idle_minutes=1)
    session = client.session
    session["cart_token"] = cart.token
    session.save()
    assert client.get(reverse("recovery:push-key")).json() == {"publicKey": "BPublicKey", "enabled": True}
    body = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "k", "auth": "a"}}
    response = client.post(reverse("recovery:push-subscribe"), body, content_type="application/json")
    assert response.status_code == 200
    from recovery.models import PushSubscription

    sub = PushSubscription.objects.get()
    assert (sub.cart, sub.email) == (cart, "anna@example.com")
    bad = client.post(
        reverse("recovery:push-subscribe"), {"endpoint": "http://x"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert b"showNotification" in client.get(reverse("recovery:push-sw")).content
    _ = timezone


def test_push_opt_in_appears_on_cart_pages_only_when_configured(client, store, settings):
    from django.template import RequestContext, Template
    from django.test import RequestFactory

    tag = Template("{% load recovery_push %}{% recovery_push_optin %}")
    request = RequestFactory().get("/koszyk/")
    settings.VAPID_PUBLIC_KEY = ""
    assert tag.render(RequestContext(request)).strip() == ""
    settings.VAPID_PUBLIC_KEY = "BKey"
    assert "data-recovery-push" in tag.render(RequestContext(request))
    assert tag.render(RequestContext(RequestFactory().get("/p/kubek/"))).strip() == ""


def test_admin_campaign_list_links_the_dashboard(client, store):
    from tests.shop.factories import SuperuserFactory

    services.ensure_default_campaign(store=store)
    client.force_login(SuperuserFactory())
    page = client.get(reverse("admin:recovery_campaign_changelist"))
    assert reverse("admin:recovery_dashboard").encode() in page.content
