"""Admin for order processing and after-sales: mixins plugged into ``orders.admin``'s classes.

- :class:`OrderProcessingMixin` (OrderAdmin): change-form buttons to move the status, ship with a
  tracking number, add a note, print a packing list, download / issue / regenerate the invoice.
  Every change goes through the services (``change_status``, ``mark_shipped``, ``add_note``,
  ``issue_invoice``); status actions are offered only to staff with ``orders.change_order``.
- :class:`ReturnAdminMixin` (ReturnAdmin): accept / reject (with a note for the shopper) and
  "refunded", as actions and change-form buttons, through ``orders.returns``.
- :class:`InvoiceAdminMixin` (InvoiceAdmin): invoices are read-only and never deleted (numbering
  has no gaps); download and re-render the PDF.

Permissions follow Django's per model (``shop.roles`` groups): viewing needs ``view_*``,
processing ``change_order``, notes ``add_ordernote``, invoices ``view_invoice`` / ``add_invoice``,
return decisions ``change_return``.
"""

from __future__ import annotations

from io import BytesIO

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.admin_mixins import scope_to_stores

from . import invoices, returns
from .admin_search import OrderSearchMixin
from .models import Invoice, Order, Return

STATUS_ACTION_PREFIX = "mark_"
PACKING_LISTS_MAX = 100  # orders in one packing-list PDF


@admin.action(description=gettext_lazy("Print packing lists (one PDF)"), permissions=["view"])
def print_packing_lists(modeladmin, request, queryset):
    """The selected orders' packing lists, one page each, in one PDF (WeasyPrint)."""
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import timezone
    from weasyprint import HTML

    orders = list(
        queryset.select_related("shipping_address")
        .prefetch_related("lines")
        .order_by("created_at", "pk")[: PACKING_LISTS_MAX + 1]
    )
    if len(orders) > PACKING_LISTS_MAX:
        modeladmin.message_user(
            request,
            _("Print at most %(n)d packing lists at once.") % {"n": PACKING_LISTS_MAX},
            messages.ERROR,
        )
        return None
    html = render_to_string(
        "orders/admin/packing_lists_pdf.html",
        {"orders": orders, "title": _("Packing lists")},
        request=request,
    )
    pdf = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="packing-lists-{timezone.now():%Y%m%d-%H%M%S}.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _perm(request, codename: str) -> bool:
    return request.user.has_perm(f"orders.{codename}")


class OrderProcessingMixin(OrderSearchMixin):
    change_form_template = "orders/admin/order_change_form.html"

    # --- who may do what --------------------------------------------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_view_or_change_permission(request):
            actions["print_packing_lists"] = (
                print_packing_lists,
                "print_packing_lists",
                print_packing_lists.short_description,
            )
        if not self.has_change_permission(request):
            for name in [n for n in actions if n.startswith(STATUS_ACTION_PREFIX)]:
                del actions[name]
        return actions

    # --- extra pages -------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        extra = [
            path("<int:pk>/status/", wrap(self.status_view), name="orders_order_status"),
            path("<int:pk>/ship/", wrap(self.ship_view), name="orders_order_ship"),
            path("<int:pk>/note/", wrap(self.note_view), name="orders_order_note"),
            path("<int:pk>/packing-list/", wrap(self.packing_list_view), name="orders_order_packing_list"),
            path("<int:pk>/invoice/", wrap(self.invoice_view), name="orders_order_invoice"),
            path("<int:pk>/invoice/issue/", wrap(self.invoice_issue_view), name="orders_order_invoice_issue"),
            path("<int:pk>/correction/", wrap(self.correction_view), name="orders_order_correction"),
        ]
        return extra + super().get_urls()

    def _order(self, request, pk: int) -> Order:
        order = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_or_change_permission(request, order):
            raise PermissionDenied
        return order

    def _back(self, order: Order) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def status_view(self, request, pk: int):
        """One status step (``change_status``). A step that moves money (marking paid, cancelling a
        paid order, delivering cash on delivery: ``orders.selectors.timeline.moves_money``) first
        answers with a page that says what will happen; its "confirm" button posts again."""
        from .selectors.timeline import moves_money
        from .services import InvalidTransition, change_status

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order(request, pk)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        status = request.POST.get("status", "")
        if status not in Order.Status.values:
            messages.error(request, _("Unknown status."))
            return self._back(order)
        note = request.POST.get("note", "")[:500]
        if moves_money(order, status) and request.POST.get("confirmed") != "yes":
            return self._confirm_page(request, order, status, note)
        try:
            change_status(order=order, status=status, user=request.user, note=note)
        except InvalidTransition as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Order %(number)s is now “%(status)s”.")
                % {"number": order.number, "status": Order.Status(status).label},
            )
        return self._back(order)

    def _confirm_page(self, request, order: Order, status: str, note: str):
        from shop.money import format_money

        amount = format_money(order.total, order.currency)
        if status == Order.Status.PAID:
            question = _("Mark order %(number)s as paid?") % {"number": order.number}
            consequence = _(
                "Only when %(amount)s has reached the store's account (%(method)s). The stock is "
                "taken, the shopper gets an e-mail and the invoice is issued."
            ) % {"amount": amount, "method": order.payment_method_name or "—"}
            label = _("Yes, the money has arrived")
        elif status == Order.Status.CANCELLED:
            question = _("Cancel the paid order %(number)s?") % {"number": order.number}
            consequence = _(
                "The shopper paid %(amount)s: it goes back to them (through the payment gateway where "
                "it allows refunds, otherwise you send it yourself). The goods go back to stock and "
                "the shopper gets an e-mail."
            ) % {"amount": amount}
            label = _("Yes, cancel and give the money back")
        else:
            question = _("Mark order %(number)s as delivered?") % {"number": order.number}
            consequence = _("The courier collected %(amount)s on delivery: the order is booked as paid.") % {
                "amount": amount
            }
            label = _("Yes, it was delivered and paid")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "status": status,
            "note": note,
            "question": question,
            "consequence": consequence,
            "confirm_label": label,
            "title": question,
        }
        return TemplateResponse(request, "orders/admin/order_confirm.html", context)

    def ship_view(self, request, pk: int):
        """Packed -> shipped with the parcel's tracking number (shown to the shopper)."""
        from .services import InvalidTransition
        from .services.fulfilment import InvalidTrackingNumber, mark_shipped

        order = self._order(request, pk)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        error = ""
        if request.method == "POST":
            try:
                mark_shipped(
                    order=order, tracking_number=request.POST.get("tracking_number", ""), user=request.user
                )
            except (InvalidTrackingNumber, InvalidTransition) as exc:
                error = exc.message
            else:
                messages.success(request, _("Order %(number)s shipped.") % {"number": order.number})
                return self._back(order)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "error": error,
            "title": _("Ship order %(number)s") % {"number": order.number},
        }
        return TemplateResponse(
            request, "orders/admin/order_ship.html", context, status=400 if error else 200
        )

    def note_view(self, request, pk: int):
        from .services import add_note

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order(request, pk)
        if not _perm(request, "add_ordernote"):
            raise PermissionDenied
        text = request.POST.get("text", "").strip()
        if text:
            add_note(order=order, text=text[:5000], user=request.user)
            messages.success(request, _("Note added."))
        return self._back(order)

    def packing_list_view(self, request, pk: int):
        order = self._order(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "orders": [order],
            "notes": order.customer_note,
            "title": _("Packing list %(number)s") % {"number": order.number},
        }
        return TemplateResponse(request, "orders/admin/packing_list.html", context)

    def invoice_view(self, request, pk: int):
        order = self._order(request, pk)
        if not _perm(request, "view_invoice"):
            raise PermissionDenied
        invoice = (
            Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).select_related("store").first()
        )
        if invoice is None:
            raise Http404
        return invoice_file_response(invoice)

    def invoice_issue_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order(request, pk)
        if not _perm(request, "add_invoice"):
            raise PermissionDenied
        existing = Invoice.objects.filter(order=order, kind=Invoice.Kind.INVOICE).first()
        try:
            if existing is not None:
                invoices.render_pdf(invoice=existing, force=True)
                messages.success(request, _("Invoice %(n)s re-rendered.") % {"n": existing.number})
            else:
                invoice = invoices.issue_invoice(order=order, render="now")
                messages.success(request, _("Invoice %(n)s issued.") % {"n": invoice.number})
        except invoices.InvoiceError as exc:
            messages.error(request, str(exc))
        return self._back(order)

    def correction_view(self, request, pk: int):
        """Issue the correcting invoices an order is owed and lacks (``corrections_due``): they
        are issued on their events, unless the store's company data was incomplete then."""
        from . import corrections
        from .models import PaymentRefund
        from .selectors.timeline import corrections_due, order_history

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order(request, pk)
        if not _perm(request, "add_invoice"):
            raise PermissionDenied
        history = order_history(order)
        issued, failed = [], False
        try:
            for key in corrections_due(order, history):
                cause, _sep, ident = key.partition(":")
                if cause == "cancel":
                    made = corrections.correct_cancellation(order, render="now")
                elif cause == "return":
                    made = corrections.correct_return(
                        get_object_or_404(Return, pk=ident, order=order), render="now"
                    )
                else:
                    refund = get_object_or_404(PaymentRefund, pk=ident, order=order)
                    made = corrections.correct_refund(refund, render="now")
                if made is not None:
                    issued.append(made.number)
        except invoices.InvoiceError as exc:
            messages.error(request, str(exc))
            failed = True
        if issued:
            messages.success(
                request, _("Correcting invoice issued: %(numbers)s.") % {"numbers": ", ".join(issued)}
            )
        elif not failed:
            messages.info(request, _("Nothing to correct on this order."))
        return self._back(order)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        order = self.get_object(request, object_id)
        if order is not None:
            from .selectors.timeline import Permissions, order_admin_page

            perms = Permissions(
                process=self.has_change_permission(request, order),
                ship=request.user.has_perm("orders.manage_shipments"),
                refund=_perm(request, "add_paymentrefund"),
                invoice=_perm(request, "add_invoice"),
            )
            page = order_admin_page(order, perms)
            extra_context.update(
                can_process=perms.process,
                can_note=_perm(request, "add_ordernote"),
                can_invoice=perms.invoice,
                can_view_invoice=_perm(request, "view_invoice"),
                order_page=page,
                next_actions=page.actions,
                timeline=page.history.entries,
                invoice=page.history.invoice,
                order_returns=page.history.returns,
            )
        return super().change_view(request, object_id, form_url, extra_context)


def invoice_file_response(invoice: Invoice) -> FileResponse:
    response = FileResponse(
        BytesIO(invoices.invoice_pdf(invoice)),
        as_attachment=True,
        filename=invoices.pdf_filename(invoice),
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Returns -------------------------------------------------------------------------------------------


def _decide(modeladmin, request, queryset, decide, done_message):
    done = 0
    for ret in queryset.select_related("order"):
        try:
            decide(return_request=ret, user=request.user)
            done += 1
        except returns.ReturnError as exc:
            modeladmin.message_user(request, f"#{ret.pk}: {exc.message}", messages.WARNING)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


@admin.action(description=gettext_lazy("Accept: restock and refund"), permissions=["change"])
def accept_returns(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, returns.accept_return, _("%(n)d returns accepted."))


@admin.action(description=gettext_lazy("Reject"), permissions=["change"])
def reject_returns(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, returns.reject_return, _("%(n)d returns rejected."))


@admin.action(description=gettext_lazy("Mark as refunded"), permissions=["change"])
def mark_returns_refunded(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, returns.mark_refunded, _("%(n)d returns marked as refunded."))


class ReturnAdminMixin:
    change_form_template = "orders/admin/return_change_form.html"
    actions = [accept_returns, reject_returns, mark_returns_refunded]
    list_select_related = ("order",)
    readonly_fields = (
        "order",
        "status",
        "reason",
        "comment",
        "bank_account",
        "refund_amount",
        "restocked",
        "decided_by",
        "created_at",
        "decided_at",
        "refunded_at",
    )

    def has_add_permission(self, request):
        return False  # shoppers ask for returns; the admin decides

    def get_inline_instances(self, request, obj=None):
        # Returned lines are what the shopper asked for: shown, never edited here.
        instances = super().get_inline_instances(request, obj)
        for inline in instances:
            inline.can_delete = False
            inline.max_num = 0
            inline.readonly_fields = ("order_line", "quantity", "refund_amount")
        return instances

    def get_urls(self):
        return [
            path(
                "<int:pk>/decide/", self.admin_site.admin_view(self.decide_view), name="orders_return_decide"
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ret = get_object_or_404(scope_to_stores(Return.objects.all(), request.user), pk=pk)
        if not self.has_change_permission(request, ret):
            raise PermissionDenied
        decision = request.POST.get("decision")
        note = request.POST.get("staff_note", "").strip()[:2000]
        services = {
            "accept": returns.accept_return,
            "reject": returns.reject_return,
            "refunded": returns.mark_refunded,
        }
        if decision not in services:
            messages.error(request, _("Unknown decision."))
        else:
            try:
                if decision == "refunded":
                    returns.mark_refunded(return_request=ret, user=request.user)
                else:
                    services[decision](return_request=ret, user=request.user, note=note)
            except returns.ReturnError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Return #%(id)d: done.") % {"id": ret.pk})
        return HttpResponseRedirect(reverse("admin:orders_return_change", args=[ret.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        ret = self.get_object(request, object_id)
        if ret is not None:
            extra_context["can_decide"] = self.has_change_permission(request, ret)
            extra_context["ret"] = ret
        return super().change_view(request, object_id, form_url, extra_context)


# --- Invoices ------------------------------------------------------------------------------------------


@admin.action(description=gettext_lazy("Re-render the PDF"), permissions=["add"])
def rerender_invoices(modeladmin, request, queryset):
    for invoice in queryset.select_related("order", "store"):
        invoices.render_pdf(invoice=invoice, force=True)
    modeladmin.message_user(
        request, _("%(n)d invoices re-rendered.") % {"n": queryset.count()}, messages.SUCCESS
    )


class InvoiceAdminMixin:
    actions = [rerender_invoices]
    list_select_related = ("order",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False  # issued by the services (on payment, or from the order's page)

    def has_delete_permission(self, request, obj=None):
        return False  # a deleted invoice would leave a gap in the numbering

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="orders_invoice_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        invoice = get_object_or_404(
            scope_to_stores(Invoice.objects.select_related("order", "store"), request.user), pk=pk
        )
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice_file_response(invoice)
