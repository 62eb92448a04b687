"""The one read-only admin mixin (shop/admin_mixins.py) and the admins that use it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from catalog.models import StockMovement, StockReservation
from integrations.feeds.models import FeedRun
from integrations.marketing.models import ConsentLog
from reports.models import ReportJob
from shop.admin_mixins import ReadOnlyAdminMixin
from shop.api.models import WebhookDelivery
from tests.shop.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("model", "deletable"),
    [
        (ConsentLog, False),
        (FeedRun, True),
        (ReportJob, True),
        (StockMovement, False),
        (StockReservation, True),
        (WebhookDelivery, True),
    ],
)
def test_system_records_are_read_only_in_the_admin(model, deletable):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ReadOnlyAdminMixin)
    request = _request(SuperuserFactory())
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert model_admin.has_delete_permission(request) is deletable
    # Deleting still needs the model's delete permission: staff without it cannot.
    assert not model_admin.has_delete_permission(_request(StaffFactory()))


def test_the_mixin_works_for_inlines_and_before_any_admin_class():
    from integrations.accounting.admin import ExternalDocumentInline
    from orders.models import Order

    inline = ExternalDocumentInline(Order, admin.site)
    request = _request(SuperuserFactory())
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request, None)
    assert not inline.has_delete_permission(request, None)


def test_every_read_only_admin_uses_the_one_mixin():
    request = _request(SuperuserFactory())
    by_hand = sorted(
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if not model_admin.has_add_permission(request)
        and not model_admin.has_change_permission(request)
        and not isinstance(model_admin, ReadOnlyAdminMixin)
    )
    assert by_hand == []
