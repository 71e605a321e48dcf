"""The query parameters of the KPI API and the dashboard: a period of local dates, an optional
location, cohort months. Validated by serializers so that the API and the pages refuse the same
bad input with the same translated messages."""

import re
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from appointments.models import Location
from insights.selectors import GRANULARITIES, SEGMENTS, Period, Scope, add_months

MAX_DAYS = 3700  # about ten years
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodParams(serializers.Serializer):
    from_ = serializers.DateField(label="from", help_text=_("First local day of the period (YYYY-MM-DD)."))
    to = serializers.DateField(help_text=_("Last local day of the period, included (YYYY-MM-DD)."))
    location = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                        help_text=_("Only this location's visits and appointments."))

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_location(self, value):
        if value is not None and not Location.objects.filter(pk=value).exists():
            raise serializers.ValidationError(_("There is no such location."))
        return value

    def validate(self, attrs):
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": _("The period ends before it starts.")})
        if (attrs["to"] - attrs["from"]).days >= MAX_DAYS:
            raise serializers.ValidationError({"to": _("The period may be at most ten years long.")})
        if attrs["from"].year < 1900 or attrs["to"].year > 9000:
            raise serializers.ValidationError({"from": _("Choose dates between 1900 and 9000.")})
        return attrs

    def scope(self) -> Scope:
        data = self.validated_data
        return Scope(Period(data["from"], data["to"]), data["location"])


class SeriesParams(PeriodParams):
    unit = serializers.ChoiceField(choices=GRANULARITIES, required=False, allow_null=True, default=None,
                                   help_text=_("day, week or month; by default from the period's length."))


class SegmentParams(PeriodParams):
    segment = serializers.ChoiceField(choices=SEGMENTS)
    r = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5)
    f = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["segment"] == "rfm" and (attrs["r"] is None or attrs["f"] is None):
            raise serializers.ValidationError({"r": _("Name the RFM cell: r and f from 1 to 5.")})
        return attrs


class MonthField(serializers.CharField):
    default_error_messages = {"month": _("Give a month as YYYY-MM.")}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        match = MONTH.match(text)
        if not match or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 9000:
            self.fail("month")
        return date(int(match[1]), int(match[2]), 1)


class CohortParams(serializers.Serializer):
    from_ = MonthField(label="from", help_text=_("First cohort month (YYYY-MM)."))
    to = MonthField(help_text=_("Last cohort month (YYYY-MM)."))
    months = serializers.IntegerField(default=12, min_value=1, max_value=24,
                                      help_text=_("Later months shown for each cohort (1-24)."))
    location = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    validate_location = PeriodParams.validate_location

    def validate(self, attrs):
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": _("The last cohort is before the first.")})
        if attrs["to"] > add_months(attrs["from"], 59):
            raise serializers.ValidationError({"to": _("Show at most 60 cohorts.")})
        return attrs


def default_cohort_months(period: Period) -> tuple[date, date]:
    """The cohorts the dashboard shows for a period: the 12 months up to the period's last."""
    last = period.end.replace(day=1)
    return add_months(last, -11), last


def preset_period(name: str, today: date) -> Period | None:
    """This month, last month, this quarter, this year, the last 12 months (to today)."""
    month_start = today.replace(day=1)
    if name == "this_month":
        return Period(month_start, today)
    if name == "last_month":
        return Period(add_months(month_start, -1), month_start - timedelta(days=1))
    if name == "this_quarter":
        return Period(month_start.replace(month=(today.month - 1) // 3 * 3 + 1), today)
    if name == "this_year":
        return Period(date(today.year, 1, 1), today)
    if name == "last_12_months":
        return Period(add_months(today, -12) + timedelta(days=1), today)
    return None


PRESETS = (("this_month", _("This month")), ("last_month", _("Last month")), ("this_quarter", _("This quarter")),
           ("this_year", _("This year")), ("last_12_months", _("Last 12 months")), ("custom", _("Custom")))
