"""The KPI API (owners and managers): one read per panel. Rates are fractions (0..1, six
decimals, null when the denominator is 0), money is a string with two decimals."""

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import has_perm
from insights import selectors
from insights.customer_value import PANEL_STATUSES, customer_value_members, customer_value_panel
from insights.models import MemberValuePrediction
from insights.params import CohortParams, PeriodParams, SegmentParams, SeriesParams
from points.rules import local_date

ViewReports = has_perm("accounts.view_reports")


def _money(**kwargs):
    return serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True, **kwargs)


def _rate(**kwargs):
    return serializers.FloatField(allow_null=True, **kwargs)


def _params(serializer_class, request):
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params


class LifecycleSerializer(serializers.Serializer):
    active = serializers.IntegerField(source="lifecycle_active")
    dormant = serializers.IntegerField(source="lifecycle_dormant")
    lapsed = serializers.IntegerField(source="lifecycle_lapsed")
    never_visited = serializers.IntegerField()


class PointsSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    reversed = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    expired = serializers.IntegerField()
    adjusted_down = serializers.IntegerField()
    outstanding = serializers.IntegerField()
    liability = _money()
    redemption_rate = _rate()
    breakage_rate = _rate()
    top_rewards = serializers.SerializerMethodField()

    def get_top_rewards(self, obj) -> list[dict]:
        return [{"reward": name, "redemptions": count, "points": points} for name, count, points in obj.top_rewards]


class ReferralsSerializer(serializers.Serializer):
    referred = serializers.IntegerField()
    converted = serializers.IntegerField()
    conversion_rate = _rate()
    referred_active = serializers.IntegerField()
    revenue_from_referred = _money()
    top_referrers = serializers.SerializerMethodField()

    def get_top_referrers(self, obj) -> list[dict]:
        return [{"member": pk, "name": name, "referred": made, "converted": converted}
                for pk, name, made, converted in obj.top_referrers]


class PractitionerUtilisationSerializer(serializers.Serializer):
    practitioner = serializers.IntegerField(source="practitioner_id")
    name = serializers.CharField()
    bookings = serializers.IntegerField()
    booked_minutes = serializers.IntegerField()
    scheduled_minutes = serializers.IntegerField()
    utilisation = _rate()


class AppointmentsSerializer(serializers.Serializer):
    bookings = serializers.IntegerField()
    completed = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    late_cancelled = serializers.IntegerField()
    no_show_rate = _rate()
    cancellation_rate = _rate()
    utilisation = _rate()
    practitioners = PractitionerUtilisationSerializer(many=True)


# --- panel 5: the predictive CLV (insights/customer_value.py) ----------------------------------

class ClvBucketSerializer(serializers.Serializer):
    from_ = serializers.DecimalField(max_digits=18, decimal_places=2)
    to = serializers.DecimalField(max_digits=18, decimal_places=2)
    members = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class BgNbdParametersSerializer(serializers.Serializer):
    r = serializers.FloatField()
    alpha = serializers.FloatField()
    a = serializers.FloatField()
    b = serializers.FloatField()
    log_likelihood = serializers.FloatField()


class GammaGammaParametersSerializer(serializers.Serializer):
    p = serializers.FloatField()
    q = serializers.FloatField()
    v = serializers.FloatField()
    log_likelihood = serializers.FloatField()


class ClvRuleSerializer(serializers.Serializer):
    min_repeat_members = serializers.IntegerField()
    min_history_days = serializers.IntegerField()


class PredictiveClvSerializer(serializers.Serializer):
    """The newest nightly fit: figures when `status` is `fitted`, otherwise `reason` says why not."""

    status = serializers.ChoiceField(choices=PANEL_STATUSES)
    reason = serializers.CharField(help_text="Why there is no prediction, in the user's language; empty when fitted.")
    reason_codes = serializers.ListField(child=serializers.CharField())
    cutoff_on = serializers.DateField(allow_null=True, help_text="The last local day of visits the fit used.")
    fitted_at = serializers.DateTimeField(allow_null=True)
    horizon_months = serializers.IntegerField(allow_null=True)
    monthly_discount = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    customers = serializers.IntegerField(allow_null=True, help_text="Members with a visit up to the cut-off.")
    repeat_customers = serializers.IntegerField(allow_null=True,
                                                help_text="Members with a paid visit on a later day than their first.")
    history_days = serializers.IntegerField(allow_null=True)
    predicted_members = serializers.IntegerField(allow_null=True)
    active_members = serializers.IntegerField(allow_null=True)
    clv_per_active_member = _money()
    clv_per_member = _money()
    clv_total = _money()
    expected_purchases_per_active_member = _rate()
    bgnbd = BgNbdParametersSerializer(allow_null=True, help_text="Time unit: weeks.")
    gamma_gamma = GammaGammaParametersSerializer(allow_null=True, help_text="Money in the clinic's currency.")
    rule = ClvRuleSerializer(help_text="Enough history: at least this many repeat members and days of visits.")


class PractitionerRatingSerializer(serializers.Serializer):
    practitioner = serializers.IntegerField(source="practitioner_id")
    name = serializers.CharField()
    answers = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True, help_text="1-5, two decimals; null below 5 answers.")


class SatisfactionSerializer(serializers.Serializer):
    answers = serializers.IntegerField(source="nps.answers")
    promoters = serializers.IntegerField(source="nps.promoters")
    passives = serializers.IntegerField(source="nps.passives")
    detractors = serializers.IntegerField(source="nps.detractors")
    nps = serializers.FloatField(source="nps.score", allow_null=True,
                                 help_text="% promoters − % detractors (−100 to 100, one decimal); null without "
                                           "answers.")
    surveys_sent = serializers.IntegerField(source="response.denominator")
    surveys_answered = serializers.IntegerField(source="response.numerator")
    response_rate = _rate()
    practitioner_ratings = PractitionerRatingSerializer(many=True)
    followups_due = serializers.IntegerField(source="on_time.denominator")
    followups_done_on_time = serializers.IntegerField(source="on_time.numerator")
    followups_on_time_rate = _rate()
    detractor_followups_open = serializers.IntegerField(
        help_text="Follow-ups of detractor answers open at the end of the period (for a period ending today or "
                  "later: open now).")
    recalls = serializers.IntegerField(source="recall.denominator")
    recalls_converted = serializers.IntegerField(source="recall.numerator")
    recall_conversion_rate = _rate(help_text="All locations: recalls have no visit.")


class SummarySerializer(serializers.Serializer):
    from_ = serializers.DateField(source="period.start")
    to = serializers.DateField(source="period.end")
    location = serializers.IntegerField(allow_null=True)
    visits = serializers.IntegerField()
    active_members = serializers.IntegerField()
    new_members = serializers.IntegerField()
    total_members = serializers.IntegerField()
    revenue = _money()
    average_order_value = _money()
    visits_per_active_member = _rate()
    repeat_members = serializers.IntegerField()
    repeat_rate = _rate()
    previous_active_members = serializers.IntegerField()
    retained_members = serializers.IntegerField()
    retention_rate = _rate()
    churn_rate = _rate()
    members_with_visits = serializers.IntegerField()
    revenue_to_date = _money()
    historical_clv = _money()
    average_spend_per_active_member = _money()
    lifecycle = LifecycleSerializer(source="*")
    points = PointsSerializer()
    referrals = ReferralsSerializer()
    appointments = AppointmentsSerializer()
    predictive_clv = PredictiveClvSerializer(help_text="The newest nightly fit; the period does not apply.")
    satisfaction = SatisfactionSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class SummaryApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: SummarySerializer},
                   summary="The headline KPIs of a period")
    def get(self, request):
        scope = _params(PeriodParams, request).scope()
        summary = selectors.kpi_summary(scope=scope)
        summary.location = scope.location_id
        summary.points = selectors.kpi_points(scope=scope)
        summary.referrals = selectors.kpi_referrals(scope=scope)
        summary.appointments = selectors.kpi_appointments(scope=scope)
        summary.predictive_clv = customer_value_panel()
        summary.satisfaction = selectors.kpi_satisfaction(scope=scope)
        return Response(SummarySerializer(summary).data)


class SeriesPointSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    visits = serializers.IntegerField()
    revenue = _money()
    active_members = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer):
    unit = serializers.CharField()
    points = SeriesPointSerializer(many=True)


class SeriesApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[SeriesParams], responses={200: SeriesSerializer},
                   summary="Visits, revenue and members with a visit by day, week or month")
    def get(self, request):
        params = _params(SeriesParams, request)
        scope = params.scope()
        unit = params.validated_data["unit"] or selectors.granularity_for(scope.period)
        return Response(SeriesSerializer({"unit": unit, "points": selectors.kpi_series(scope=scope, unit=unit)}).data)


class CohortSerializer(serializers.Serializer):
    cohort = serializers.SerializerMethodField()
    size = serializers.IntegerField()
    retention = serializers.ListField(child=serializers.FloatField(allow_null=True))

    def get_cohort(self, obj) -> str:
        return f"{obj.month:%Y-%m}"


class CohortsApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[CohortParams], responses={200: CohortSerializer(many=True)},
                   summary="Monthly cohorts by first visit and the share returning in each later month")
    def get(self, request):
        data = _params(CohortParams, request).validated_data
        cohorts = selectors.kpi_cohorts(first_month=data["from"], last_month=data["to"], months=data["months"],
                                        location_id=data["location"], today=local_date(timezone.now()))
        return Response(CohortSerializer(cohorts, many=True).data)


class RfmCellSerializer(serializers.Serializer):
    recency = serializers.IntegerField()
    frequency = serializers.IntegerField()
    members = serializers.IntegerField()
    revenue = _money()


class RfmApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: RfmCellSerializer(many=True)},
                   summary="Members by recency and frequency score (1-5) over the RFM window up to `to`")
    def get(self, request):
        return Response(RfmCellSerializer(selectors.kpi_rfm(scope=_params(PeriodParams, request).scope()),
                                          many=True).data)


class TierRowSerializer(serializers.Serializer):
    tier = serializers.IntegerField(source="tier_id")
    name = serializers.CharField()
    rank = serializers.IntegerField()
    members = serializers.IntegerField()
    upgrades_in = serializers.IntegerField()
    downgrades_in = serializers.IntegerField()
    active_members = serializers.IntegerField()
    revenue = _money()


class TiersApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: TierRowSerializer(many=True)},
                   summary="Members per tier, moves in the period and spend per tier")
    def get(self, request):
        return Response(TierRowSerializer(selectors.kpi_tiers(scope=_params(PeriodParams, request).scope()),
                                          many=True).data)


class PointsApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: PointsSerializer},
                   summary="Points issued, redeemed and expired, liability, breakage and top rewards")
    def get(self, request):
        return Response(PointsSerializer(selectors.kpi_points(scope=_params(PeriodParams, request).scope())).data)


class ReferralsApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: ReferralsSerializer},
                   summary="Referrals made and converted, and revenue from referred members")
    def get(self, request):
        return Response(ReferralsSerializer(selectors.kpi_referrals(scope=_params(PeriodParams, request).scope())).data)


class AppointmentsApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: AppointmentsSerializer},
                   summary="Appointments, no-show and cancellation rates, practitioner utilisation")
    def get(self, request):
        return Response(AppointmentsSerializer(
            selectors.kpi_appointments(scope=_params(PeriodParams, request).scope())).data)


class SatisfactionApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: SatisfactionSerializer},
                   summary="NPS, survey response rate, practitioner ratings, follow-ups on time, detractor "
                           "follow-ups open, recall conversion")
    def get(self, request):
        return Response(SatisfactionSerializer(
            selectors.kpi_satisfaction(scope=_params(PeriodParams, request).scope())).data)


class RenewalSerializer(serializers.Serializer):
    fell_below = serializers.IntegerField(help_text="Members whose card fell below the threshold in the period.")
    renewed = serializers.IntegerField(help_text="Of them, those who topped up within `days` days.")
    rate = _rate()
    threshold = _money()
    days = serializers.IntegerField()


class PackageRenewalSerializer(serializers.Serializer):
    ended = serializers.IntegerField(help_text="Members whose package ran out in the period (last session used "
                                               "or the rest expired).")
    renewed = serializers.IntegerField(help_text="Of them, those who bought another package within `days` days.")
    rate = _rate(help_text="Package renewal rate (疗程卡续卡率): renewed / ended.")
    days = serializers.IntegerField()


class PackagesSerializer(serializers.Serializer):
    sold = serializers.IntegerField(source="figures.sold", help_text="Packages sold at checkout in the period.")
    sales = _money(source="figures.sales", help_text="Money collected for them (deferred revenue).")
    sessions_used = serializers.IntegerField(source="figures.sessions_used",
                                             help_text="Sessions used, net of sessions given back by refunds.")
    used_value = _money(source="figures.used_value", help_text="Their recognised value.")
    sessions_expired = serializers.IntegerField(source="figures.sessions_expired")
    expired_value = _money(source="figures.expired_value")
    sessions_refunded = serializers.IntegerField(source="figures.sessions_refunded",
                                                 help_text="Unused sessions refunded.")
    refunded_money = _money(source="figures.refunded_money")
    recognised = _money(source="figures.recognised", help_text="Revenue recognised from packages in the period.")
    outstanding_sessions = serializers.IntegerField(help_text="Sessions outstanding at the period's end.")
    outstanding_value = _money(help_text="Their recognised value: the package liability at the period's end.")
    renewal = PackageRenewalSerializer()


class StoredValueSerializer(serializers.Serializer):
    topped_up = _money()
    bonus_granted = _money()
    spent = _money(help_text="Paid with cards at checkout, net of refunds given back to cards.")
    outstanding_principal = _money()
    outstanding_bonus = _money()
    outstanding = _money(help_text="Prepaid stored-value liability at the period's end.")
    renewal = RenewalSerializer()
    packages = PackagesSerializer(help_text="Treatment packages (疗程卡) of the period.")


class StoredValueApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: StoredValueSerializer},
                   summary="Stored value: top-ups, spend, outstanding liability and renewal rate (续费率)")
    def get(self, request):
        scope = _params(PeriodParams, request).scope()
        figures = selectors.kpi_stored_value(scope=scope)
        data = {name: getattr(figures, name) for name in (
            "topped_up", "bonus_granted", "spent", "outstanding_principal", "outstanding_bonus", "outstanding",
            "renewal")}
        data["packages"] = selectors.kpi_packages(scope=scope)
        return Response(StoredValueSerializer(data).data)


class CampaignRowSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(source="campaign_id")
    name = serializers.CharField()
    measured_from = serializers.DateTimeField()
    measured_until = serializers.DateTimeField()
    treated = serializers.IntegerField(help_text="Members in the treated group.")
    control = serializers.IntegerField(help_text="Members in the control group.")
    incremental_revenue = _money()
    incremental_revenue_low = _money(help_text="Lower end of the 95 % interval.")
    incremental_revenue_high = _money(help_text="Upper end of the 95 % interval.")
    significant = serializers.BooleanField(allow_null=True,
                                           help_text="False: the 95 % interval includes 0 (not significant).")
    cost = _money(help_text="Offer cost + message cost.")
    incremental_margin = _money()
    roi = _rate(help_text="(incremental margin − cost) / cost.")
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return reverse("campaigns:detail", args=[obj.campaign_id])


class CampaignsSerializer(serializers.Serializer):
    measured = serializers.IntegerField(help_text="Campaigns whose measurement period ends in the period.")
    significant = serializers.IntegerField(help_text="Of them, those whose 95 % interval excludes 0.")
    incremental_revenue = _money()
    incremental_margin = _money()
    cost = _money(help_text="Cost of the campaigns with a control group.")
    roi = _rate(help_text="(Σ incremental margin − Σ cost) / Σ cost.")
    campaigns = CampaignRowSerializer(many=True)


class CampaignsApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[PeriodParams], responses={200: CampaignsSerializer},
                   summary="Campaigns: measured results of the campaigns whose measurement ends in the period")
    def get(self, request):
        return Response(CampaignsSerializer(
            selectors.kpi_campaigns(scope=_params(PeriodParams, request).scope())).data)


class SegmentSerializer(serializers.Serializer):
    segment = serializers.CharField()
    count = serializers.IntegerField()
    members = serializers.ListField(child=serializers.IntegerField())


class SegmentApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(parameters=[SegmentParams], responses={200: SegmentSerializer},
                   summary="The ids of the members behind a figure")
    def get(self, request):
        params = _params(SegmentParams, request)
        data = params.validated_data
        ids = selectors.segment_member_ids(scope=params.scope(), segment=data["segment"], r=data["r"], f=data["f"])
        return Response(SegmentSerializer({"segment": data["segment"], "count": len(ids), "members": ids}).data)


class PredictiveClvPanelSerializer(PredictiveClvSerializer):
    distribution = ClvBucketSerializer(many=True, source="buckets",
                                       help_text="Predicted members by CLV, in buckets from (included) to (excluded).")


class PredictiveClvApi(APIView):
    permission_classes = [ViewReports]

    @extend_schema(responses={200: PredictiveClvPanelSerializer},
                   summary="The predictive CLV (BG/NBD, Gamma-Gamma) of the newest nightly fit, or why there is none")
    def get(self, request):
        return Response(PredictiveClvPanelSerializer(customer_value_panel()).data)


class ClvMembersParams(serializers.Serializer):
    min = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True, default=None,
                                   min_value=0, help_text="Only members whose predicted CLV is at least this.")
    max = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True, default=None,
                                   min_value=0, help_text="Only members whose predicted CLV is below this.")
    page = serializers.IntegerField(default=1, min_value=1, help_text="Pages of 100 members, highest CLV first.")


class MemberPredictionSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member_id")
    member_number = serializers.CharField(source="member.member_number")
    frequency = serializers.IntegerField(help_text="Repeat visit days up to the cut-off.")
    recency_weeks = serializers.FloatField()
    age_weeks = serializers.FloatField(help_text="Weeks from the first visit day to the cut-off (T).")
    monetary = _money(help_text="Mean revenue of the repeat visit days.")
    probability_alive = serializers.FloatField()
    expected_visits = serializers.FloatField(help_text="Expected visit days over the horizon.")
    expected_value = _money(help_text="Expected revenue per visit day.")
    clv = _money()


class ClvMembersSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    members = MemberPredictionSerializer(many=True)


class PredictiveClvMembersApi(APIView):
    permission_classes = [ViewReports]
    PAGE_SIZE = 100

    @extend_schema(parameters=[ClvMembersParams], responses={200: ClvMembersSerializer},
                   summary="Members by predicted CLV (newest fit), highest first; empty without a fit")
    def get(self, request):
        data = _params(ClvMembersParams, request).validated_data
        fit = customer_value_panel().fit
        predictions = (customer_value_members(fit=fit, low=data["min"], high=data["max"]) if fit
                       else MemberValuePrediction.objects.none())
        paginator = Paginator(predictions, self.PAGE_SIZE)
        page = paginator.get_page(data["page"])
        return Response(ClvMembersSerializer({"count": paginator.count, "page": page.number,
                                              "pages": paginator.num_pages, "members": page.object_list}).data)
