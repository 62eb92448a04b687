"""Storefront pages: a store's page (a draft only as a staff preview), the contact form on the
contact page, and the withdrawal form as a page and a PDF."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shop import ratelimit

from . import contact
from .forms import ContactForm
from .models import Page
from .pages import one_line
from .selectors import visible_page


def _is_staff(request) -> bool:
    from shop.admin_mixins import user_store_ids

    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return False
    ids = user_store_ids(user)
    return ids is None or request.store.pk in ids


@require_http_methods(["GET", "POST", "HEAD"])
def page(request, slug: str):
    found = visible_page(store=request.store, slug=slug, staff=_is_staff(request))
    if found is None:
        raise Http404(_("No such page."))
    form = None
    status = 200
    if found.kind == Page.Kind.CONTACT:
        if request.method == "POST":
            form = ContactForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    contact.submit(
                        store=request.store,
                        name=data["name"],
                        email=data["email"],
                        subject=data["subject"],
                        message=data["message"],
                        ip=ratelimit.client_ip(request),
                        token=data["token"],
                        honeypot=data["website"],
                    )
                except contact.ContactRefused as exc:
                    form.add_error(None, exc.message)
                    status = 429 if exc.retry_after else 400
                else:
                    messages.success(
                        request, _("Thank you, your message has been sent. We will reply by e-mail.")
                    )
                    return redirect(found.get_absolute_url())
            else:
                status = 400
        else:
            form = ContactForm()
        # A fresh token each time the form is shown (the 3-second rule counts from here).
        token = contact.issue_token(store=request.store)
        if form.is_bound:
            form.data = form.data.copy()
            form.data["token"] = token
        else:
            form.initial["token"] = token
    elif request.method == "POST":
        return HttpResponse(status=405)
    return render(
        request,
        "content/page.html",
        {"page": found, "form": form, "preview": not found.is_published},
        status=status,
    )


def _withdrawal_context(request) -> dict:
    store = request.store
    return {
        "seller": store.company_name or store.name,
        "address": one_line(store.company_address),
        "email": store.support_email or store.sender_email,
        "phone": store.phone,
        "store": store,
    }


def withdrawal(request):
    return render(request, "content/withdrawal.html", _withdrawal_context(request))


def withdrawal_pdf(request):
    from weasyprint import HTML

    html = render_to_string("content/withdrawal_pdf.html", _withdrawal_context(request), request=request)
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="formularz-odstapienia.pdf"'
    return response
