from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from . import admin_home, admin_labels, admin_nav
from .admin_mixins import ReadOnlyAdminMixin, user_store_ids
from .auth import AdminLoginForm
from .mail import list_mailbox, read_mail
from .models import Event, EventDelivery, Store, User

# Before any admin form is built: names for the fields the models leave unnamed.
admin_labels.apply()


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "phone", "language")}),
        (
            _("Permissions"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "all_stores",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_queryset(self, request):
        # An employee of some stores sees the accounts of those stores: their shoppers (an order
        # or a cart there), their staff, and themselves; not other stores' customers.
        queryset = super().get_queryset(request)
        ids = user_store_ids(request.user)
        if ids is None:
            return queryset
        return queryset.filter(
            Q(pk=request.user.pk)
            | Q(orders__store__in=ids)
            | Q(carts__store__in=ids)
            | Q(staff_stores__in=ids)
        ).distinct()

    def get_readonly_fields(self, request, obj=None):
        # Which stores someone works on, and superuser status, are a superuser's decision.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else (*readonly, "all_stores", "is_superuser")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "currency", "default_language", "timezone", "is_default", "is_active"]
    search_fields = ["name", "domain"]
    fieldsets = (
        (None, {"fields": ("name", "domain", "is_default", "is_active")}),
        (_("Locale"), {"fields": ("currency", "default_language", "timezone")}),
        (_("Contact"), {"fields": ("sender_email", "support_email", "phone")}),
        (_("Seller"), {"fields": ("company_name", "company_address", "company_tax_id", "bank_account")}),
        (_("Staff"), {"fields": ("staff",)}),
        (_("Advanced"), {"classes": ("collapse",), "fields": ("custom_js",)}),
    )
    filter_horizontal = ["staff"]

    def get_readonly_fields(self, request, obj=None):
        # Custom JS runs on every storefront page: only superusers may change it. Who works on
        # a store is a superuser's decision too (staff must not add themselves to a store).
        return () if request.user.is_superuser else ("custom_js", "staff")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "staff":
            kwargs["queryset"] = db_field.related_model.objects.filter(is_staff=True).order_by("email")
            # The two-list widget builds "Dostępne …", "Wybierz …", "Usuń …" from the label:
            # "konta pracowników" reads right in every one ("pracownicy" did not).
            kwargs["label"] = capfirst(_("staff accounts"))
            kwargs["widget"] = FilteredSelectMultiple(_("staff accounts"), is_stacked=False)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    readonly_fields = ["handler", "status", "attempts", "last_error", "updated_at"]
    can_delete = False


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox's deliveries: which handler got which event, and the ones that gave up."""

    list_display = ["event", "handler", "status", "attempts", "updated_at"]
    list_filter = ["status", "handler"]
    list_select_related = ["event"]
    search_fields = ["handler", "last_error"]
    readonly_fields = ["event", "handler", "status", "attempts", "last_error", "updated_at"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "store", "created_at", "processed_at"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["type", "payload", "store", "created_at", "processed_at"]
    inlines = [EventDeliveryInline]

    def has_add_permission(self, request):
        return False


def outbox_view(request, name: str | None = None):
    """Mail written by the embedded default's mailbox backend (var/mail), readable by staff."""
    if not request.user.is_superuser:
        raise Http404
    context = {**admin.site.each_context(request), "title": _("Outbox (local mail)")}
    if name:
        try:
            context["mail"] = read_mail(name)
        except FileNotFoundError as exc:
            raise Http404 from exc
    else:
        context["mails"] = list_mailbox()
    return TemplateResponse(request, "admin/outbox.html", context)


_original_get_urls = admin.site.get_urls


def _get_urls():
    return [
        path("outbox/", admin.site.admin_view(outbox_view), name="outbox"),
        path("outbox/<str:name>/", admin.site.admin_view(outbox_view), name="outbox-mail"),
        *_original_get_urls(),
    ]


admin.site.get_urls = _get_urls
admin.site.site_header = _("Koszyk administration")
admin.site.login_form = AdminLoginForm  # a locked login says so (shop/auth.py)
admin.site.site_title = _("Koszyk")
admin.site.index_title = _("Shop management")


# The menu by task (Zamówienia, Produkty, ..., System) and the home page "the day at a glance".
admin_nav.install(admin.site)
_original_index = admin.site.index


def _home(request, extra_context=None):
    return _original_index(request, {**admin_home.home_context(request), **(extra_context or {})})


admin.site.index = _home

# django_celery_beat's "Task Name" is a plain string (not marked for translation); its other
# labels are translated in locale/pl (see shop/third_party_labels.py).
PeriodicTask._meta.get_field("task").verbose_name = _("Task Name")
