"""The one storefront endpoint of the marketing tags: consent.js records each cookie choice here
as proof (``ConsentLog``). Everything else happens in templates and the browser."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shop import ratelimit

from . import selectors, services


class ConsentChoiceForm(forms.Form):
    id = forms.RegexField(regex=r"\A[A-Za-z0-9_-]{16,40}\Z", max_length=40)
    v = forms.CharField(max_length=20)
    a = forms.ChoiceField(choices=[("0", "0"), ("1", "1")])
    m = forms.ChoiceField(choices=[("0", "0"), ("1", "1")])

    def __init__(self, *args, version: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version

    def clean_v(self):
        if self.cleaned_data["v"] != self.version:
            raise forms.ValidationError(_("This banner version is out of date; reload the page."))
        return self.cleaned_data["v"]


@require_POST
def record_consent(request):
    config = selectors.request_config(request)
    if not config.get("enabled"):
        return JsonResponse({"ok": False, "error": _("This shop uses no marketing tags.")}, status=404)
    if not ratelimit.allow(
        f"marketing:consent:{ratelimit.client_ip(request)}",
        limit=settings.MARKETING_CONSENT_LOG_RATE_LIMIT,
        window=3600,
    ):
        return JsonResponse({"ok": False, "error": _("Too many requests; try again later.")}, status=429)
    form = ConsentChoiceForm(request.POST, version=config["version"])
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    services.log_consent(
        store=request.store,
        consent_id=form.cleaned_data["id"],
        version=form.cleaned_data["v"],
        analytics=form.cleaned_data["a"] == "1",
        marketing=form.cleaned_data["m"] == "1",
    )
    return HttpResponse(status=204)
