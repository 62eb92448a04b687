"""Pages of a store (legal texts, contact, about, custom), their published versions, the footer's
links, contact messages and the terms an order was placed under."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_prose_editor.fields import ProseEditorField

from shop.models import Store

from .sanitise import clean_html

# What the admin's editor offers; content/sanitise.py keeps the same tags on save.
EDITOR_EXTENSIONS = {
    "Bold": True,
    "Italic": True,
    "Underline": True,
    "Strike": True,
    "Heading": {"levels": [2, 3, 4]},
    "BulletList": True,
    "OrderedList": True,
    "ListItem": True,
    "Blockquote": True,
    "HorizontalRule": True,
    "Link": {"enableTarget": False},
    "Table": True,
    "TableRow": True,
    "TableHeader": True,
    "TableCell": True,
    "HardBreak": True,
    "History": True,
}


class Page(models.Model):
    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms and conditions")
        PRIVACY = "privacy", _("Privacy policy")
        SHIPPING = "shipping", _("Shipping and payment")
        RETURNS = "returns", _("Returns and complaints")
        CONTACT = "contact", _("Contact")
        ABOUT = "about", _("About us")
        CUSTOM = "custom", _("Other page")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft (not public)")
        PUBLISHED = "published", _("published")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="pages", verbose_name=_("store"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CUSTOM)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("address"), max_length=120, help_text=_("The last part of the page's address: /strona/regulamin/.")
    )
    body = ProseEditorField(
        _("text"),
        blank=True,
        config={"extensions": EDITOR_EXTENSIONS},
        sanitize=clean_html,
    )
    meta_title = models.CharField(
        _("title for search engines"), max_length=70, blank=True, help_text=_("Empty: the page title.")
    )
    meta_description = models.CharField(_("description for search engines"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(
        _("version"), default=0, help_text=_("Raised each time the page is published.")
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["store", "kind", "title"]
        constraints = [
            models.UniqueConstraint(fields=["store", "slug"], name="content_page_slug_per_store"),
            # One terms page, one privacy policy, ... per store; any number of custom pages.
            models.UniqueConstraint(
                fields=["store", "kind"], condition=~Q(kind="custom"), name="content_page_kind_per_store"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("content:page", kwargs={"slug": self.slug})

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class PageVersion(models.Model):
    """A page's text as it was published: an order points to the terms its shopper accepted."""

    page = models.ForeignKey(Page, on_delete=models.PROTECT, related_name="versions", verbose_name=_("page"))
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("published version")
        verbose_name_plural = _("published versions")
        ordering = ["page", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["page", "version"], name="content_page_version_once"),
        ]

    def __str__(self) -> str:
        return _("%(title)s, version %(version)s") % {"title": self.title, "version": self.version}


class FooterColumn(models.Model):
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="footer_columns", verbose_name=_("store")
    )
    title = models.CharField(_("heading"), max_length=80)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("footer column")
        verbose_name_plural = _("footer columns")
        ordering = ["store", "position", "pk"]

    def __str__(self) -> str:
        return self.title


class FooterLink(models.Model):
    """A link in a footer column: to a page of the store (shown only while it is published) or to
    an address (a path of the shop such as /odstapienie-od-umowy/, or an http(s) address)."""

    column = models.ForeignKey(
        FooterColumn, on_delete=models.CASCADE, related_name="links", verbose_name=_("column")
    )
    page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("page")
    )
    url = models.CharField(
        _("address"),
        max_length=300,
        blank=True,
        help_text=_("Instead of a page: a path of the shop (/odstapienie-od-umowy/) or an https:// address."),
    )
    label = models.CharField(_("label"), max_length=80, blank=True, help_text=_("Empty: the page title."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("footer link")
        verbose_name_plural = _("footer links")
        ordering = ["column", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(page__isnull=False) & Q(url="")) | (Q(page__isnull=True) & ~Q(url="")),
                name="content_footer_link_page_or_url",
            ),
        ]

    def __str__(self) -> str:
        return self.label or (self.page.title if self.page_id else self.url)


class ContactMessage(models.Model):
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="contact_messages", verbose_name=_("store")
    )
    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("e-mail"))
    subject = models.CharField(_("subject"), max_length=200)
    message = models.TextField(_("message"))
    ip_address = models.CharField(_("IP address"), max_length=64, blank=True)
    is_read = models.BooleanField(_("read"), default=False)
    emailed_at = models.DateTimeField(_("forwarded by e-mail at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact message")
        verbose_name_plural = _("contact messages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "is_read", "-created_at"], name="content_msg_inbox")]

    def __str__(self) -> str:
        return self.subject


class TermsAcceptance(models.Model):
    """The exact texts a shopper accepted when placing an order."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="terms_acceptance", verbose_name=_("order")
    )
    terms = models.ForeignKey(
        PageVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("terms and conditions")
    )
    privacy = models.ForeignKey(
        PageVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("privacy policy"),
    )
    accepted_at = models.DateTimeField(_("accepted at"))

    class Meta:
        verbose_name = _("accepted terms")
        verbose_name_plural = _("accepted terms")

    def __str__(self) -> str:
        return str(self.terms)
