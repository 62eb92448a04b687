"""The storefront's footer columns, the checkout's links to the terms and privacy policy, and the
withdrawal form's link for e-mails -- read from the store's published pages (cached)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..selectors import footer_columns, legal_urls

register = template.Library()


@register.inclusion_tag("content/_footer.html", takes_context=True)
def site_footer(context):
    store = context.get("store")
    return {"columns": footer_columns(store), "store": store}


@register.simple_tag(takes_context=True)
def legal_links(context):
    """``{"terms": "/strona/regulamin/", "privacy": ...}``: addresses of the published pages."""
    return legal_urls(context.get("store"))


@register.simple_tag
def withdrawal_link(store, text_only=False):
    """A line for an order e-mail: where the withdrawal form is (an absolute address)."""
    if store is None:
        return ""
    url = store.absolute_url(reverse("content:withdrawal"))
    sentence = _("You may withdraw from the purchase within 14 days; the withdrawal form is here:")
    if text_only:
        return f"{sentence} {url}"
    return format_html('{} <a href="{}">{}</a>', sentence, url, _("withdrawal form"))
