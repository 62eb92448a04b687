"""The storefront's gift-card balance page: a shopper types a card's code and sees what is left."""

from __future__ import annotations

import re

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from shop.ratelimit import client_ip

from ..services import RateLimited
from ..services.codes import GIFT_CARD_CODE_LENGTH, gift_card_balance, normalise_gift_card_code


class BalanceForm(forms.Form):
    code = forms.CharField(
        label=_("Gift card code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        help_text=_("16 letters and digits, as printed on the card or in the e-mail: XXXX-XXXX-XXXX-XXXX."),
    )

    def clean_code(self):
        raw = self.cleaned_data["code"]
        code = normalise_gift_card_code(raw)
        if len(code) != GIFT_CARD_CODE_LENGTH or re.search(r"[^A-Z0-9\s-]", raw.upper()):
            raise forms.ValidationError(
                _("A gift card code has 16 letters and digits, e.g. ABCD-EFGH-JKLM-NPQR.")
            )
        return code


@never_cache
@require_http_methods(["GET", "POST"])
def gift_card_balance_view(request):
    form = BalanceForm(request.POST or None)
    checked = False
    balance = None
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            balance = gift_card_balance(
                store=request.store, code=form.cleaned_data["code"], ip=client_ip(request)
            )
            checked = True
        except RateLimited as exc:
            error, status = exc.message, 429
    elif request.method == "POST":
        status = 400
    context = {"form": form, "checked": checked, "balance": balance, "error": error}
    return render(request, "orders/gift_card_balance.html", context, status=status)
