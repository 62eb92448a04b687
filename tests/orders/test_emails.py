"""What a shopper reads in the order e-mails: the confirmation adds up (lines, discount, delivery,
payment fee, total), shows the VAT summary of the invoice, the addresses, and greets neutrally."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from catalog.models import VatRate
from orders import services
from orders.emails import render_email
from orders.invoices import invoice_lines, vat_summary
from orders.models import OrderEmail, PaymentMethod, ShippingMethod, Voucher
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.factories import ShippingMethodFactory, VoucherFactory, ready_cart

pytestmark = pytest.mark.django_db
D = Decimal

MONEY = re.compile(r"([−-])?\s?(\d{1,3}(?:[ \u00a0]\d{3})*),(\d{2})[ \u00a0]zł")


def amounts(text: str) -> list[Decimal]:
    """Every "1 234,56 zł" in ``text``, negative when written with a minus sign."""
    found = []
    for sign, whole, cents in MONEY.findall(text):
        digits = re.sub(r"\D", "", whole)
        value = D(f"{digits}.{cents}")
        found.append(-value if sign else value)
    return found


class Rows(HTMLParser):
    """The rows of an e-mail's HTML tables: (class of the <tr>, [cell texts])."""

    def __init__(self):
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append((dict(attrs).get("class", ""), []))
        elif tag in ("td", "th") and self.rows:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def of(self, kind: str) -> list[list[str]]:
        return [cells for cls, cells in self.rows if kind in cls.split()]


def html_rows(html: str) -> Rows:
    parser = Rows()
    parser.feed(html)
    return parser


def place_busy_order(store, *, language="pl", shipping=None, answers=None):
    """Two VAT rates, a 10% voucher, a paid delivery and a payment fee: every row of the summary."""
    shirt = VariantFactory(
        store=store, stock=10, price=D("123.45"), product=ProductFactory(store=store, name="Koszula lniana")
    )
    book = VariantFactory(
        store=store,
        stock=10,
        price=D("45.67"),
        product=ProductFactory(store=store, name="Książka kucharska", vat_rate=VatRate.REDUCED_5),
    )
    shipping = shipping or ShippingMethodFactory(
        store=store, code="kurier", name="Kurier DPD", price=D("14.99")
    )
    PaymentMethod.objects.filter(store=store).delete()
    PaymentMethod.objects.create(
        store=store, provider=PaymentMethod.Provider.CASH_ON_DELIVERY, name="Za pobraniem", fee=D("5.00")
    )
    cart = ready_cart(store, [(shirt, 2), (book, 3)], shipping=shipping, payment="cod", answers=answers)
    voucher = VoucherFactory(store=store, code="LATO10", kind=Voucher.Kind.PERCENTAGE, value=D("10"))
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    cart.language = language
    cart.save(update_fields=["language"])
    order = services.place_order(cart=cart)
    assert order.discount_total > 0 and order.payment_fee == D("5.00") and order.shipping_total == D("14.99")
    return order


def placed_email(order):
    email = order.emails.get(kind=OrderEmail.Kind.PLACED)
    message = render_email(email)
    html = message.alternatives[0][0]
    return message, message.body, html


@pytest.mark.parametrize("language", ["pl", "en"])
def test_order_confirmation_adds_up_to_the_grosz_in_both_parts(store, language):
    order = place_busy_order(store, language=language)
    _message, text, html = placed_email(order)
    lines = list(order.lines.all())

    # HTML: line totals + delivery + fee − discount = total, every number as printed.
    rows = html_rows(html)
    line_rows = rows.of("line")
    assert len(line_rows) == 2
    printed_lines = [amounts(cells[-1])[0] for cells in line_rows]
    assert printed_lines == [line.total for line in lines]
    (discount,) = [amounts(cells[-1])[0] for cells in rows.of("discount")]
    (delivery,) = [amounts(cells[-1])[0] for cells in rows.of("delivery")]
    (fee,) = [amounts(cells[-1])[0] for cells in rows.of("payment")]
    (total,) = [amounts(cells[-1])[0] for cells in rows.of("total")]
    assert discount == -order.discount_total
    assert sum(printed_lines) + delivery + fee + discount == total == order.total
    # The rows say what they are: the voucher, the delivery method, the payment method.
    assert "LATO10" in rows.of("discount")[0][0]
    assert "Kurier DPD" in rows.of("delivery")[0][0]
    assert "Za pobraniem" in rows.of("payment")[0][0]

    # The VAT summary is the invoice's, rate by rate, and adds up to the total.
    expected = vat_summary(invoice_lines(order))
    vat_rows = rows.of("vat")
    assert [cells[0] for cells in vat_rows] == [s.vat_label for s in expected] == ["23%", "5%"]
    assert [amounts(" ".join(cells[1:])) for cells in vat_rows] == [[s.net, s.vat, s.gross] for s in expected]
    assert sum(s.gross for s in expected) == order.total

    # Text part: the same amounts in the same order.
    summary_text = text[text.index(f"{lines[0].quantity} × {lines[0].name}") :]
    text_amounts = amounts(summary_text)
    expected_text = [
        *[line.total for line in lines],
        order.subtotal,
        -order.discount_total,
        order.shipping_total,
        order.payment_fee,
        order.total,
    ]
    assert text_amounts[: len(expected_text)] == expected_text
    assert (
        sum(text_amounts[:2]) - order.discount_total + order.shipping_total + order.payment_fee == order.total
    )
    text_lines = text.splitlines()
    for s in expected:
        (row,) = [line for line in text_lines if line.strip().startswith(f"{s.vat_label}:")]
        assert amounts(row) == [s.net, s.vat, s.gross]

    # Where it goes and who pays.
    for part in (text, html):
        assert "ul. Długa 5/3" in part and "00-950 Warszawa" in part and "Anna Kowalska" in part
        assert "zł" in part and " PLN" not in part


def test_order_confirmation_names_the_parcel_locker_and_the_company_on_the_invoice(store):
    locker = ShippingMethodFactory(
        store=store,
        code="paczkomat",
        name="Paczkomat InPost",
        kind=ShippingMethod.Kind.PARCEL_LOCKER,
        price=D("14.99"),
    )
    order = place_busy_order(
        store,
        shipping=locker,
        answers={
            "pickup_point": "KRA01M",
            "wants_invoice": True,
            "company_name": "ACME sp. z o.o.",
            "tax_id": "5260001246",
            "billing_street": "Prosta 1",
            "billing_postal_code": "00-001",
            "billing_city": "Kraków",
        },
    )
    _message, text, html = placed_email(order)
    for part in (text, html):
        assert "KRA01M" in part
        assert "ACME sp. z o.o." in part and "NIP: 5260001246" in part and "00-001 Kraków" in part
        assert "Paczkomat InPost" in part


@pytest.mark.parametrize("language", ["pl", "en"])
def test_order_emails_greet_without_guessing_a_name_or_gender(store, language):
    order = place_busy_order(store, language=language)
    message, text, html = placed_email(order)
    greeting = {"pl": "Dzień dobry", "en": "Hello"}[language]
    assert text.lstrip().startswith(greeting)
    for part in (message.subject, text, html):
        assert "Kliencie" not in part and "łeś" not in part and "(-aś)" not in part
    if language == "en":
        polish_words = ("Dostawa", "Płatność", "Razem", "Rabat", "zamówieni", "Dziękujemy", "Adres")
        assert not [word for word in polish_words if word in text or word in html]


# --- returns ---------------------------------------------------------------------------------------


def _return_emails(store, language):
    """The three return e-mails (request received, accepted, rejected) as the shopper gets them."""
    from orders import returns
    from tests.orders.factories_after_sales import make_order

    shirt = VariantFactory(store=store, price=D("100.00"), stock=10, product=ProductFactory(store=store))
    order = make_order(store=store, lines=[(shirt, 2)], language=language)
    line = order.lines.get()
    first = returns.request_return(order=order, items={line.pk: 1}, reason="withdrawal")
    returns.accept_return(return_request=first, note="")
    second = returns.request_return(order=order, items={line.pk: 1}, reason="damaged")
    returns.reject_return(return_request=second, note="")
    emails = order.emails.filter(kind=OrderEmail.Kind.RETURN).order_by("pk")
    return [render_email(email) for email in emails]


@pytest.mark.parametrize("language", ["pl", "en"])
def test_return_emails_greet_the_shopper_and_show_amounts_in_zloty(store, language):
    messages = _return_emails(store, language)
    assert len(messages) == 4  # requested, accepted, requested, rejected
    greeting = {"pl": "Dzień dobry,", "en": "Hello,"}[language]
    for message in messages:
        html = message.alternatives[0][0]
        assert message.body.lstrip().startswith(greeting), message.body
        assert greeting in html
        for part in (message.subject, message.body, html):
            assert "Kliencie" not in part and "łeś" not in part and "(-aś)" not in part
    requested, accepted = messages[0].body, messages[1].body
    assert amounts(requested) == [D("100.00")] and amounts(accepted) == [D("100.00")]


# --- account e-mails ---------------------------------------------------------------------------------


def test_password_reset_and_verification_emails_greet_and_quote_the_store_name(client, store):
    from django.core import mail
    from django.urls import reverse

    from orders.accounts import send_verification_email
    from tests.shop.factories import UserFactory

    store.name = "Sklep Koszyk"
    store.save()
    user = UserFactory(email="ola@example.com")
    client.post(reverse("orders:account:password_reset"), {"email": "ola@example.com"})
    send_verification_email(store=store, user=user, url="https://sklep.example.pl/konto/potwierdz/x/")
    reset, verify = mail.outbox
    assert reset.subject == "Ustaw nowe hasło w sklepie „Sklep Koszyk”"
    assert "do Twojego konta w sklepie „Sklep Koszyk”." in reset.body
    assert verify.subject == "Potwierdź adres e-mail w sklepie „Sklep Koszyk”"
    assert (
        "Prosimy o potwierdzenie, że ola@example.com to adres konta w sklepie „Sklep Koszyk”." in verify.body
    )
    for message in (reset, verify):
        assert message.body.startswith("Dzień dobry,\n\n"), message.body
        assert "Dzień dobry," in message.alternatives[0][0]
