"""The Insights pages (owners and managers): the dashboard, the members behind a figure, and the
CSV and XLSX exports of every table. The views only read the period from the query string and
call the selectors."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.page_permissions import PermissionRequired
from appointments.models import Location
from insights import selectors
from insights.api import ClvMembersParams
from insights.customer_value import customer_value_members, customer_value_panel
from insights.params import PRESETS, PeriodParams, SegmentParams, default_cohort_months, preset_period
from insights.selectors import Scope
from insights.tables import TABLES, Table, table_csv, table_xlsx
from members.models import Member
from points.rules import local_date

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportsRequired(PermissionRequired):
    """Owners and managers: anyone else signed in gets 403, a visitor the login page."""

    permission_required = "accounts.view_reports"


@dataclass
class Chosen:
    """The period the page shows, as chosen in the query string (a preset or custom dates)."""

    scope: Scope
    preset: str
    errors: dict
    query: str


def _chosen(request, params_class=PeriodParams) -> tuple[Chosen, object]:
    today = local_date(timezone.now())
    preset = request.GET.get("preset") or ("custom" if request.GET.get("from") else "this_month")
    data = request.GET.dict()
    period = preset_period(preset, today)
    if period is not None:
        data["from"], data["to"] = period.start.isoformat(), period.end.isoformat()
    else:
        preset = "custom"
    data = {key: value for key, value in data.items() if value != ""}
    params = params_class(data=data)
    if params.is_valid():
        scope = params.scope()
        errors = {}
    else:
        fallback = preset_period("this_month", today)
        scope = Scope(fallback)
        errors = {key: [str(message) for message in value] for key, value in params.errors.items()}
    query = f"from={scope.period.start}&to={scope.period.end}"
    if scope.location_id:
        query += f"&location={scope.location_id}"
    return Chosen(scope, preset, errors, query), params


def change(current, previous) -> float | None:
    """The relative change from `previous` to `current`, None when there is nothing to compare."""
    if current is None or previous is None or not previous:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / Decimal(str(previous)))


COMPARED = ("total_members", "new_members", "active_members", "visits", "revenue", "average_order_value",
            "visits_per_active_member", "repeat_rate", "retention_rate", "churn_rate", "historical_clv",
            "average_spend_per_active_member", "lifecycle_active", "lifecycle_dormant", "lifecycle_lapsed")


def _comparisons(scope: Scope, summary) -> dict:
    previous = selectors.kpi_summary(scope=scope.shifted(scope.period.previous()))
    last_year = selectors.kpi_summary(scope=scope.shifted(scope.period.last_year()))
    return {name: {"previous": getattr(previous, name), "last_year": getattr(last_year, name),
                   "vs_previous": change(getattr(summary, name), getattr(previous, name)),
                   "vs_last_year": change(getattr(summary, name), getattr(last_year, name))}
            for name in COMPARED}


def _chart_data(scope: Scope, summary, series, cohorts, rfm, tiers, points, appointments) -> dict:
    return {
        "series": {"buckets": [p.bucket.isoformat() for p in series], "visits": [p.visits for p in series],
                   "revenue": [float(p.revenue) for p in series],
                   "active": [p.active_members for p in series]},
        "lifecycle": [{"key": "active", "value": summary.lifecycle_active},
                      {"key": "dormant", "value": summary.lifecycle_dormant},
                      {"key": "lapsed", "value": summary.lifecycle_lapsed},
                      {"key": "never", "value": summary.never_visited}],
        "rates": {"repeat": summary.repeat_rate, "retention": summary.retention_rate, "churn": summary.churn_rate},
        "cohorts": {"months": [f"{c.month:%Y-%m}" for c in cohorts],
                    "cells": [[k, i, value] for i, c in enumerate(cohorts) for k, value in enumerate(c.retention)
                              if value is not None],
                    "width": len(cohorts[0].retention) if cohorts else 0},
        "rfm": [[cell.frequency - 1, cell.recency - 1, cell.members] for cell in rfm],
        "tiers": {"names": [t.name for t in tiers], "members": [t.members for t in tiers],
                  "revenue": [float(t.revenue) for t in tiers], "up": [t.upgrades_in for t in tiers],
                  "down": [t.downgrades_in for t in tiers]},
        "points": {"issued": points.issued, "redeemed": points.redeemed, "expired": points.expired,
                   "reversed": points.reversed},
        "appointments": {"names": [p.name for p in appointments.practitioners],
                         "utilisation": [p.utilisation or 0 for p in appointments.practitioners]},
    }


def _labels() -> dict:
    return {"visits": _("Visits"), "revenue": _("Revenue"), "active": _("Members with a visit"),
            "lifecycle_active": _("Active"), "lifecycle_dormant": _("Dormant"), "lifecycle_lapsed": _("Lapsed"),
            "lifecycle_never": _("No visit yet"), "repeat": _("Repeat rate"), "retention": _("Retention rate"),
            "churn": _("Churn rate"), "cohort": _("Cohort"), "months_after": _("Months after the first visit"),
            "recency": _("Recency score"), "frequency": _("Frequency score"), "members": _("Members"),
            "upgrades": _("Upgrades"), "downgrades": _("Downgrades"), "issued": _("Issued"),
            "redeemed": _("Redeemed"), "expired": _("Expired"), "reversed": _("Reversed by refunds"),
            "utilisation": _("Utilisation"), "revenue_axis": _("Revenue (¥)")}


SATISFACTION_COMPARED = ("nps", "answers", "detractors", "response_rate", "followups_on_time_rate",
                         "detractor_followups_open", "recall_conversion_rate")


def _satisfaction_value(figures, name: str):
    if name == "nps":
        return figures.nps.score
    if name in ("answers", "detractors"):
        return getattr(figures.nps, name)
    return getattr(figures, name)


def _satisfaction_add(context: dict, scope: Scope) -> None:
    """Panel 11: its figures, their comparisons (NPS by the difference in points, since it can be
    negative or 0; the others by the relative change, like panels 1-5), its chart and labels."""
    figures = selectors.kpi_satisfaction(scope=scope)
    previous = selectors.kpi_satisfaction(scope=scope.shifted(scope.period.previous()))
    last_year = selectors.kpi_satisfaction(scope=scope.shifted(scope.period.last_year()))
    compare = {}
    for name in SATISFACTION_COMPARED:
        now, before, year_ago = (_satisfaction_value(f, name) for f in (figures, previous, last_year))
        if name == "nps":
            compare[name] = {"points": True, "previous": before, "last_year": year_ago,
                             "vs_previous": None if now is None or before is None else round(now - before, 1),
                             "vs_last_year": None if now is None or year_ago is None else round(now - year_ago, 1)}
        else:
            compare[name] = {"previous": before, "last_year": year_ago, "vs_previous": change(now, before),
                             "vs_last_year": change(now, year_ago)}
    context.update({"satisfaction": figures, "satisfaction_compare": compare})
    context["charts"]["satisfaction"] = {
        "groups": [figures.nps.promoters, figures.nps.passives, figures.nps.detractors]}
    context["labels"].update({"promoters": _("Promoters (9-10)"), "passives": _("Passives (7-8)"),
                              "detractors": _("Detractors (0-6)"), "answers": _("Answers")})


CAMPAIGNS_COMPARED = ("measured", "incremental_revenue", "roi")


def _campaigns_add(context: dict, scope: Scope) -> None:
    """Panel 12: the stored results of the campaigns whose measurement ends in the period, compared
    with the previous period and the same period last year, and the chart."""
    figures = selectors.kpi_campaigns(scope=scope)
    previous = selectors.kpi_campaigns(scope=scope.shifted(scope.period.previous()))
    last_year = selectors.kpi_campaigns(scope=scope.shifted(scope.period.last_year()))
    context["campaigns"] = figures
    context["campaigns_compare"] = {
        name: {"previous": getattr(previous, name), "last_year": getattr(last_year, name),
               "vs_previous": change(getattr(figures, name), getattr(previous, name)),
               "vs_last_year": change(getattr(figures, name), getattr(last_year, name))}
        for name in CAMPAIGNS_COMPARED}
    rows = figures.campaigns
    context["charts"]["campaigns"] = {
        "names": [row.name for row in rows],
        "incremental": [None if row.incremental_revenue is None else float(row.incremental_revenue) for row in rows],
        "low": [None if row.incremental_revenue_low is None else float(row.incremental_revenue_low) for row in rows],
        "high": [None if row.incremental_revenue_high is None else float(row.incremental_revenue_high)
                 for row in rows]}
    context["labels"].update({"incremental_revenue": _("Incremental revenue"),
                              "interval_low": _("95 percent interval, low"),
                              "interval_high": _("95 percent interval, high")})


class DashboardView(ReportsRequired, View):
    def get(self, request):
        chosen, _params = _chosen(request)
        scope = chosen.scope
        summary = selectors.kpi_summary(scope=scope)
        unit = request.GET.get("unit") if request.GET.get("unit") in selectors.GRANULARITIES else \
            selectors.granularity_for(scope.period)
        series = selectors.kpi_series(scope=scope, unit=unit)
        first, last = default_cohort_months(scope.period)
        today = local_date(timezone.now())
        cohorts = selectors.kpi_cohorts(first_month=first, last_month=last, location_id=scope.location_id,
                                        today=today)
        rfm = selectors.kpi_rfm(scope=scope)
        tiers = selectors.kpi_tiers(scope=scope)
        points = selectors.kpi_points(scope=scope)
        referrals = selectors.kpi_referrals(scope=scope)
        appointments = selectors.kpi_appointments(scope=scope)
        stored_value = selectors.kpi_stored_value(scope=scope)
        packages = selectors.kpi_packages(scope=scope)
        context = {
            "chosen": chosen, "period": scope.period, "presets": PRESETS, "unit": unit,
            "units": [("day", _("By day")), ("week", _("By week")), ("month", _("By month"))],
            "locations": Location.objects.order_by("name"), "summary": summary,
            "compare": _comparisons(scope, summary), "previous": scope.period.previous(),
            "last_year": scope.period.last_year(), "cohorts": cohorts, "rfm": rfm, "tiers": tiers,
            "points": points, "referrals": referrals, "appointments": appointments, "stored_value": stored_value,
            "packages": packages, "settings_row": selectors.insights_settings(),
            "customer_value": customer_value_panel(), "labels": _labels(),
            "charts": _chart_data(scope, summary, series, cohorts, rfm, tiers, points, appointments),
        }
        _satisfaction_add(context, scope)
        _campaigns_add(context, scope)
        context["charts"]["packages"] = {"sessions_used": packages.figures.sessions_used,
                                         "sessions_expired": packages.figures.sessions_expired,
                                         "sessions_refunded": packages.figures.sessions_refunded}
        context["labels"].update({"sessions_used": _("Sessions used"), "sessions_expired": _("Sessions expired"),
                                  "sessions_refunded": _("Unused sessions refunded")})
        return render(request, "insights/dashboard.html", context, status=400 if chosen.errors else 200)


SEGMENT_TITLES = {
    "active": gettext_lazy("Members with a visit in the period"),
    "repeat": gettext_lazy("Members with two or more visits"),
    "new": gettext_lazy("Members who joined in the period"),
    "retained": gettext_lazy("Retained from the previous period"),
    "churned": gettext_lazy("Active in the previous period, not in this one"),
    "lifecycle_active": gettext_lazy("Active (by last visit)"), "lifecycle_dormant": gettext_lazy("Dormant (沉睡)"),
    "lifecycle_lapsed": gettext_lazy("Lapsed (流失)"), "never_visited": gettext_lazy("Members with no visit yet"),
    "referred": gettext_lazy("Referred members who joined in the period"),
    "rfm": gettext_lazy("Members in an RFM cell"),
    "detractors": gettext_lazy("Members with a detractor answer (0-6) given in the period"),
    "detractor_followups_open": gettext_lazy("Members with a detractor follow-up open at the period's end"),
}


class SegmentMembersView(ReportsRequired, View):
    """The members a figure counts, with a link to each member's page, exportable."""

    PAGE_SIZE = 50

    def get(self, request):
        chosen, params = _chosen(request, SegmentParams)
        if chosen.errors:
            return render(request, "insights/members.html", {"chosen": chosen, "errors": chosen.errors}, status=400)
        data = params.validated_data
        ids = selectors.segment_member_ids(scope=chosen.scope, segment=data["segment"], r=data["r"], f=data["f"])
        fmt = request.GET.get("fmt")
        if fmt in ("csv", "xlsx"):
            return _export_response(_members_table(ids, data["segment"]), fmt)
        page = Paginator(ids, self.PAGE_SIZE).get_page(request.GET.get("page"))
        members = Member.objects.filter(pk__in=list(page.object_list)).order_by("pk")
        title = SEGMENT_TITLES[data["segment"]]
        if data["segment"] == "rfm":
            title = _("RFM cell: recency %(r)s, frequency %(f)s") % {"r": data["r"], "f": data["f"]}
        query = request.GET.copy()
        query.pop("page", None)
        return render(request, "insights/members.html", {
            "chosen": chosen, "period": chosen.scope.period, "title": title, "page": page, "members": members,
            "count": len(ids), "query": query.urlencode()})


def _members_table(ids: list[int], segment: str):
    members = Member.objects.filter(pk__in=ids).order_by("pk")
    return Table(f"members-{segment}", _("Members"), [_("Member number"), _("Name"), _("Phone"), _("Joined on")],
                 [[m.member_number, m.name, m.phone or "", m.joined_on] for m in members])


def _export_response(table, fmt: str) -> HttpResponse:
    if fmt == "csv":
        response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(table_xlsx(table), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{table.name}.{fmt}"'
    return response


class ExportView(ReportsRequired, View):
    """A dashboard table as CSV or XLSX: /insights/export/<table>.<csv|xlsx>?from=&to=&location="""

    def get(self, request, table: str, fmt: str):
        if table not in TABLES:
            raise Http404
        chosen, _params = _chosen(request)
        if chosen.errors:
            return HttpResponse("; ".join(m for messages in chosen.errors.values() for m in messages),
                                status=400, content_type="text/plain; charset=utf-8")
        today = local_date(timezone.now())
        built = TABLES[table](chosen.scope, unit=request.GET.get("unit") if request.GET.get("unit") in
                              selectors.GRANULARITIES else None,
                              cohort_range=default_cohort_months(chosen.scope.period), today=today)
        name = f"{built.name}-{chosen.scope.period.start}-{chosen.scope.period.end}"
        built.name = name
        return _export_response(built, fmt)


class ClvMembersView(ReportsRequired, View):
    """The members of the newest predictive-CLV fit, highest predicted CLV first, exportable."""

    PAGE_SIZE = 50

    def get(self, request):
        panel = customer_value_panel()
        params = ClvMembersParams(data={key: request.GET[key] for key in ("min", "max") if request.GET.get(key)})
        if not params.is_valid():
            return render(request, "insights/clv_members.html", {"clv": panel, "errors": params.errors}, status=400)
        low, high = params.validated_data["min"], params.validated_data["max"]
        predictions = customer_value_members(fit=panel.fit, low=low, high=high) if panel.fitted else []
        fmt = request.GET.get("fmt")
        if fmt in ("csv", "xlsx"):
            return _export_response(_clv_table(predictions), fmt)
        page = Paginator(predictions, self.PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("fmt", None)
        return render(request, "insights/clv_members.html", {"clv": panel, "page": page, "low": low, "high": high,
                                                              "query": query.urlencode()})


def _clv_table(predictions) -> Table:
    return Table("members-predicted-clv", _("Members by predicted CLV"),
                 [_("Member number"), _("Name"), _("Repeat visit days"), _("Mean repeat spend"),
                  _("Probability still a client"), _("Expected visit days"), _("Expected spend per visit day"),
                  _("Predicted CLV")],
                 [[p.member.member_number, p.member.name, p.frequency, p.monetary, round(p.probability_alive, 4),
                   round(p.expected_visits, 2), p.expected_value, p.clv] for p in predictions])
