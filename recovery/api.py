"""Cart-recovery endpoints for merchants: campaigns with their steps, the dashboard's statistics
from :func:`recovery.selectors.dashboard` and the lost messages (``recovery:read``); resending or
writing off a lost message (``recovery:write``)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.db.models import Prefetch
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from shop.api.errors import ApiError
from shop.api.models import Scope
from shop.api.views import MerchantView

from . import selectors
from .models import Campaign, Reminder, Step
from .services import lost

TAGS = ["merchant: recovery"]
MAX_RANGE_DAYS = 366


class StepOutput(serializers.ModelSerializer):
    delay_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Step
        fields = [
            "id",
            "position",
            "channel",
            "delay_seconds",
            "incentive_kind",
            "incentive_value",
            "is_active",
        ]
        read_only_fields = fields

    def get_delay_seconds(self, step) -> int:
        return int(step.delay.total_seconds())


class CampaignOutput(serializers.ModelSerializer):
    steps = StepOutput(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "is_active",
            "priority",
            "min_cart_value",
            "segment",
            "holdout_percent",
            "max_steps",
            "created_at",
            "steps",
        ]
        read_only_fields = fields


class StepStatsOutput(serializers.Serializer):
    campaign = serializers.CharField()
    position = serializers.IntegerField()
    channel = serializers.CharField()
    sent = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    recovered = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    open_rate = serializers.FloatField(allow_null=True)
    click_rate = serializers.FloatField(allow_null=True)


class DayOutput(serializers.Serializer):
    date = serializers.DateField()
    abandoned = serializers.IntegerField()
    recovered = serializers.IntegerField()


class StatsOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    abandoned = serializers.IntegerField()
    reachable = serializers.IntegerField()
    sent = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    recovered = serializers.IntegerField()
    recovered_revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    recovery_rate = serializers.FloatField(allow_null=True)
    open_rate = serializers.FloatField(allow_null=True)
    click_rate = serializers.FloatField(allow_null=True)
    treated_rate = serializers.FloatField(allow_null=True)
    holdout_rate = serializers.FloatField(allow_null=True)
    lift = serializers.FloatField(allow_null=True)
    lift_p_value = serializers.FloatField(allow_null=True)
    steps = StepStatsOutput(many=True)
    days = DayOutput(many=True)
    lost_messages = serializers.IntegerField(
        help_text="Messages lost when a worker died after the hand-off (any date): see lost-messages/."
    )


class LostMessageOutput(serializers.ModelSerializer):
    cart_id = serializers.IntegerField(source="tracked.cart_id", allow_null=True)
    email = serializers.CharField(source="tracked.email")
    campaign = serializers.CharField(source="step.campaign.name")
    step = serializers.IntegerField(source="step.position")

    class Meta:
        model = Reminder
        fields = [
            "id",
            "cart_id",
            "email",
            "campaign",
            "step",
            "channel",
            "claimed_at",
            "handoff_at",
            "attempts",
        ]
        read_only_fields = fields


class ResolutionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="planned (it will be sent again) or failed (written off).")


class RangeForm(forms.Form):
    date_from = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    campaign = forms.IntegerField(required=False, min_value=1)
    # The range (end after start, at most a year) is the view's 422: a rule across parameters.


class CampaignListView(MerchantView):
    required_scope = Scope.RECOVERY_READ

    @extend_schema(tags=TAGS, responses=CampaignOutput(many=True))
    def get(self, request):
        qs = (
            Campaign.objects.filter(store=self.store)
            .prefetch_related(Prefetch("steps", queryset=Step.objects.order_by("position", "pk")))
            .order_by("priority", "pk")
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CampaignOutput(page, many=True).data)


class RecoveryStatsView(MerchantView):
    required_scope = Scope.RECOVERY_READ
    pagination_class = None

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("date_from", str, description="YYYY-MM-DD (default: 29 days ago)."),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD (default: today)."),
            OpenApiParameter("campaign", int),
        ],
        responses=StatsOutput,
    )
    def get(self, request):
        form = RangeForm(request.query_params)
        if not form.is_valid():
            raise ApiError(
                _("Some parameters are invalid."),
                status_code=400,
                fields={k: list(v) for k, v in form.errors.items()},
            )
        start, end = selectors.default_range(self.store)
        start = form.cleaned_data.get("date_from") or start
        end = form.cleaned_data.get("date_to") or max(end, start)
        if end < start or end - start > timedelta(days=MAX_RANGE_DAYS):
            raise ApiError(
                _("Choose an end date after the start, at most a year apart."),
                status_code=422,  # a rule across parameters the schema cannot state
                fields={"date_to": [_("Invalid range.")]},
            )
        campaign = None
        if form.cleaned_data.get("campaign"):
            campaign = Campaign.objects.filter(store=self.store, pk=form.cleaned_data["campaign"]).first()
            if campaign is None:
                raise ApiError(_("No such campaign."), status_code=404, code="not_found")
        d = selectors.dashboard(store=self.store, start=start, end=end, campaign=campaign)
        data = {
            **{
                k: getattr(d, k)
                for k in ("start", "end", "abandoned", "reachable", "sent", "opened", "clicked")
            },
            "recovered": d.recovered,
            "recovered_revenue": d.recovered_revenue,
            "recovery_rate": d.recovery_rate,
            "open_rate": d.open_rate,
            "click_rate": d.click_rate,
            "treated_rate": d.treated_rate,
            "holdout_rate": d.holdout_rate,
            "lift": d.lift,
            "lift_p_value": d.lift_test.p_value if d.lift_test else None,
            "steps": d.steps,
            "days": [{"date": day, "abandoned": n, "recovered": rec} for day, n, rec in d.days],
            "lost_messages": d.lost_messages,
        }
        return Response(StatsOutput(data).data)


class LostMessageListView(MerchantView):
    """Messages whose worker died after handing them to the provider (status ``unknown``): never
    resent on their own; resend them or write them off."""

    required_scope = Scope.RECOVERY_READ

    @extend_schema(tags=TAGS, responses=LostMessageOutput(many=True))
    def get(self, request):
        page = self.paginate_queryset(selectors.lost_messages(store=self.store))
        return self.get_paginated_response(LostMessageOutput(page, many=True).data)


class _ResolveLostView(MerchantView):
    required_scope = Scope.RECOVERY_WRITE
    service = None
    refusals = {
        lost.NOT_LOST: ("not_lost", 404),
        lost.LATER_STEP_SENT: ("later_step_sent", 409),
    }

    def post(self, request, pk: int):
        result = type(self).service(store=self.store, reminder_ids=[pk])
        if pk in result.refused:
            code, status = self.refusals[result.refused[pk]]
            message = (
                _("No lost message with this id.")
                if code == "not_lost"
                else _("A later step of this cart was already sent; this message cannot be resent.")
            )
            raise ApiError(message, status_code=status, code=code)
        reminder = Reminder.objects.get(pk=pk)
        return Response(ResolutionOutput({"id": pk, "status": reminder.status}).data)


class LostMessageResendView(_ResolveLostView):
    """Send a lost message again. Every sending rule is checked again first (an order, an
    unsubscribe, a cart change since then stop it); the shopper may get it twice."""

    service = staticmethod(lost.resend_lost)

    @extend_schema(tags=TAGS, request=None, responses=ResolutionOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)


class LostMessageWriteOffView(_ResolveLostView):
    """Accept a lost message as not sent: it leaves the list and is never sent."""

    service = staticmethod(lost.write_off_lost)

    @extend_schema(tags=TAGS, request=None, responses=ResolutionOutput)
    def post(self, request, pk: int):
        return super().post(request, pk)


def urlpatterns():
    return [
        path("recovery/campaigns/", CampaignListView.as_view(), name="recovery-campaigns"),
        path("recovery/stats/", RecoveryStatsView.as_view(), name="recovery-stats"),
        path("recovery/lost-messages/", LostMessageListView.as_view(), name="recovery-lost-messages"),
        path(
            "recovery/lost-messages/<int:pk>/resend/",
            LostMessageResendView.as_view(),
            name="recovery-lost-message-resend",
        ),
        path(
            "recovery/lost-messages/<int:pk>/write-off/",
            LostMessageWriteOffView.as_view(),
            name="recovery-lost-message-write-off",
        ),
    ]
