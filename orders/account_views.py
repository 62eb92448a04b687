"""The customer account under /konto/ (login and logout are part of the checkout pages).

Every page is scoped to ``request.store`` and the logged-in customer: an id or number of another
customer's order, return, invoice or address answers 404, never 403, so ids cannot be probed.
Guests reach their order's invoice and return form through the order's secret token.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import smtplib
from io import BytesIO

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog.downloads import download_url
from shop import ratelimit

from . import accounts, invoices, returns
from .account_forms import AddressForm, RegistrationForm, ReturnRequestForm
from .models import Address, Invoice, Order

ORDERS_PER_PAGE = 20
log = logging.getLogger(__name__)


def _rate_limited(request, scope: str) -> bool:
    """Count one POST of ``scope`` from this IP; True when over the account forms' limit."""
    return not ratelimit.allow(
        f"account:{scope}:{ratelimit.client_ip(request)}",
        limit=settings.ACCOUNT_FORM_RATE_LIMIT,
        window=settings.ACCOUNT_FORM_RATE_WINDOW,
    )


def _ip_or_none(request) -> str | None:
    try:
        return str(ipaddress.ip_address(ratelimit.client_ip(request)))
    except ValueError:
        return None


def _too_many(request, template: str, context: dict) -> HttpResponse:
    window = settings.ACCOUNT_FORM_RATE_WINDOW
    context["rate_limited"] = True
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(ratelimit.retry_after(window=window))
    return response


# --- Registration and password reset ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("orders:account:dashboard")
    form = RegistrationForm(request.POST or None, store=request.store)
    if request.method == "POST":
        if _rate_limited(request, "register"):
            return _too_many(request, "orders/account/register.html", {"form": form})
        if form.is_valid():
            try:
                user = accounts.register_customer(
                    store=request.store,
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password1"],
                    marketing_consent=form.cleaned_data["marketing_consent"],
                    ip_address=_ip_or_none(request),
                    language=getattr(request, "LANGUAGE_CODE", ""),
                )
            except accounts.AccountError:
                form.add_error(
                    "email", _("An account with this email already exists. Log in or reset your password.")
                )
            else:
                login(request, user, backend="shop.auth.RateLimitedModelBackend")
                try:
                    _send_verification(request, user)
                except (OSError, smtplib.SMTPException):  # the account stands; the link can be resent
                    log.warning("Verification e-mail to user %s failed", user.pk, exc_info=True)
                messages.success(
                    request,
                    _(
                        "Welcome! Your account is ready. We have sent you a link to confirm your email address."
                    ),
                )
                return redirect("orders:account:dashboard")
    return render(request, "orders/account/register.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset with our templates, the store as sender, and a per-IP rate limit. The page
    says the same whether or not the address has an account (no account enumeration)."""

    template_name = "registration/koszyk_password_reset_form.html"
    email_template_name = "registration/koszyk_password_reset_email.txt"
    html_email_template_name = "registration/koszyk_password_reset_email.html"
    subject_template_name = "registration/koszyk_password_reset_subject.txt"
    success_url = reverse_lazy("orders:account:password_reset_done")

    def post(self, request, *args, **kwargs):
        if _rate_limited(request, "password-reset"):
            return _too_many(request, self.template_name, {"form": self.get_form()})
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        self.from_email = self.request.store.sender
        self.extra_email_context = {"store": self.request.store}
        email = form.cleaned_data["email"].strip().lower()
        key = f"account:password-reset:email:{hashlib.sha256(email.encode()).hexdigest()[:32]}"
        if not ratelimit.allow(
            key,
            limit=settings.ACCOUNT_RESET_PER_EMAIL_LIMIT,
            window=settings.ACCOUNT_FORM_RATE_WINDOW,
        ):
            # One mailbox is not flooded with links; the page says the same as when one is sent.
            return redirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/koszyk_password_reset_confirm.html"
    success_url = reverse_lazy("orders:account:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # The reset link reached this mailbox, so the address is proven.
        accounts.mark_email_verified(user=form.user)
        return response


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/koszyk_password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/koszyk_password_reset_complete.html"
)


# --- E-mail verification and guest orders ------------------------------------------------------------


def _send_verification(request, user) -> None:
    path = reverse("orders:account:verify_email", kwargs={"token": accounts.verification_token(user)})
    accounts.send_verification_email(store=request.store, user=user, url=request.build_absolute_uri(path))


@login_required
@require_POST
def verify_email_send(request):
    """Send the verification link again (from the account page)."""
    user = request.user
    if user.email_verified:
        return redirect("orders:account:dashboard")
    per_user = ratelimit.allow(
        f"account:verify-email:user:{user.pk}",
        limit=settings.ACCOUNT_VERIFY_EMAIL_RESENDS,
        window=settings.ACCOUNT_FORM_RATE_WINDOW,
    )
    if _rate_limited(request, "verify-email") or not per_user:
        messages.error(request, _("Too many attempts. Please try again later."))
        return redirect("orders:account:dashboard")
    _send_verification(request, user)
    messages.success(request, _("We have sent the link to %(email)s.") % {"email": user.email})
    return redirect("orders:account:dashboard")


@require_http_methods(["GET", "POST"])
def verify_email(request, token: str):
    """The link from the e-mail opens a page; the address is verified by its button (a POST), so a
    mail scanner that follows links verifies nothing."""
    user = accounts.user_for_verification_token(token)
    if user is None:
        status = 400 if request.method == "POST" else 200
        return render(request, "orders/account/verify_email.html", {"invalid": True}, status=status)
    if request.method == "POST":
        accounts.mark_email_verified(user=user)
        if request.user.is_authenticated and request.user.pk == user.pk:
            messages.success(request, _("Thank you, your email address is confirmed."))
            return redirect("orders:account:dashboard")
        return render(request, "orders/account/verify_email.html", {"verified": True, "email": user.email})
    return render(
        request, "orders/account/verify_email.html", {"email": user.email, "done": user.email_verified}
    )


@login_required
@require_POST
def attach_orders(request):
    """Attach the guest orders the shopper ticked (only those offered: same verified address)."""
    ids = [v for v in request.POST.getlist("order") if v.isdigit()]
    try:
        count = accounts.attach_guest_orders(store=request.store, user=request.user, order_ids=ids)
    except accounts.AccountError:
        messages.error(request, _("Confirm your email address first."))
        return redirect("orders:account:dashboard")
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d order has been added to your account.",
                "%(count)d orders have been added to your account.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.error(request, _("Choose at least one order."))
    return redirect("orders:account:dashboard")


# --- Orders ------------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    orders = list(accounts.customer_orders(store=request.store, user=request.user)[:5])
    guest_orders = list(accounts.guest_orders_to_attach(store=request.store, user=request.user)[:50])
    return render(
        request,
        "orders/account/dashboard.html",
        {"orders": orders, "guest_orders": guest_orders, "section": "dashboard"},
    )


@login_required
def order_list(request):
    paginator = Paginator(accounts.customer_orders(store=request.store, user=request.user), ORDERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "orders/account/order_list.html", {"page": page, "section": "orders"})


def _order_page_context(order: Order) -> dict:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        "history": list(order.status_changes.all()),
        "invoice": accounts.invoice_for(order),
        "order_returns": list(order.returns.all()),
        "can_return": returns.can_request_return(order, lines),
        "return_deadline": returns.return_deadline(order),
    }


@login_required
def order_detail(request, number: str):
    order = accounts.customer_order(store=request.store, user=request.user, number=number)
    if order is None:
        raise Http404
    context = _order_page_context(order)
    context["section"] = "orders"
    if order.tracking_number:
        from .carriers import tracking_url_for

        context["tracking_url"] = tracking_url_for(order)
    return render(request, "orders/account/order_detail.html", context)


def _invoice_response(order: Order) -> FileResponse:
    invoice = (
        Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE)
        .select_related("order", "store")
        .first()
    )
    if invoice is None:
        raise Http404
    data = invoices.invoice_pdf(invoice)
    response = FileResponse(
        BytesIO(data),
        as_attachment=True,
        filename=invoices.pdf_filename(invoice),
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def invoice_download(request, number: str):
    order = Order.objects.filter(store=request.store, user=request.user, number=number).first()
    if order is None:
        raise Http404
    return _invoice_response(order)


def guest_invoice_download(request, token: str):
    order = accounts.order_by_token(store=request.store, token=token)
    if order is None:
        raise Http404
    return _invoice_response(order)


# --- Returns -------------------------------------------------------------------------------------------


def _return_form_page(request, order: Order, *, guest: bool):
    refusal = returns.return_refusal(order)
    lines = returns.returnable_lines(order) if not refusal else []
    if not refusal and not any(r.returnable > 0 for r in lines):
        refusal = _("Every item of this order is already in a return.")
    back = (
        order.get_absolute_url()
        if guest
        else reverse("orders:account:order", kwargs={"number": order.number})
    )
    form = ReturnRequestForm(request.POST or None, lines=lines)
    if request.method == "POST" and not refusal and form.is_valid():
        try:
            ret = returns.request_return(
                order=order,
                items=form.items(),
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
                bank_account=form.cleaned_data["bank_account"],
                user=request.user,
            )
        except returns.ReturnError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("We have received your return request no. %(id)d. We will email you when it is decided.")
                % {"id": ret.pk},
            )
            if guest:
                return redirect(back)
            return redirect("orders:account:return", pk=ret.pk)
    elif request.method == "POST" and refusal:
        form.add_error(None, refusal)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "orders/returns/request.html",
        {
            "order": order,
            "form": form,
            "refusal": refusal,
            "back_url": back,
            "deadline": returns.return_deadline(order),
            "window_days": returns.window_days(),
            "section": "returns",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def return_request(request, number: str):
    order = Order.objects.filter(store=request.store, user=request.user, number=number).first()
    if order is None:
        raise Http404
    return _return_form_page(request, order, guest=False)


@require_http_methods(["GET", "POST"])
def guest_return_request(request, token: str):
    order = accounts.order_by_token(store=request.store, token=token)
    if order is None:
        raise Http404
    return _return_form_page(request, order, guest=True)


@login_required
def return_list(request):
    items = list(accounts.customer_returns(store=request.store, user=request.user)[:100])
    return render(request, "orders/account/return_list.html", {"returns": items, "section": "returns"})


@login_required
def return_detail(request, pk: int):
    ret = accounts.customer_return(store=request.store, user=request.user, pk=pk)
    if ret is None:
        raise Http404
    return render(request, "orders/account/return_detail.html", {"ret": ret, "section": "returns"})


# --- Addresses -------------------------------------------------------------------------------------------


@login_required
def address_list(request):
    addresses = Address.objects.filter(user=request.user).order_by(
        "-is_default_shipping", "-created_at", "pk"
    )
    return render(
        request, "orders/account/address_list.html", {"addresses": addresses, "section": "addresses"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk: int | None = None):
    address = (
        get_object_or_404(Address, pk=pk, user=request.user) if pk is not None else Address(user=request.user)
    )
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        accounts.save_address(user=request.user, address=form.save(commit=False))
        messages.success(request, _("The address has been saved."))
        return redirect("orders:account:addresses")
    return render(
        request,
        "orders/account/address_form.html",
        {"form": form, "address": address, "section": "addresses"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def address_delete(request, pk: int):
    address = get_object_or_404(Address, pk=pk, user=request.user)
    accounts.delete_address(user=request.user, address=address)
    messages.success(request, _("The address has been deleted."))
    return redirect("orders:account:addresses")


# --- Downloads -------------------------------------------------------------------------------------------


@login_required
def downloads(request):
    now = timezone.now()
    grants = [
        {
            "grant": g,
            "usable": g.expires_at > now and g.downloads_left > 0,
            "url": download_url(g, absolute=False),
        }
        for g in accounts.customer_downloads(store=request.store, user=request.user)[:200]
    ]
    return render(request, "orders/account/downloads.html", {"grants": grants, "section": "downloads"})
