"""The dashboard's tables, one function each, shared by the page and the CSV and XLSX exports,
and the writers of the two formats."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _
from openpyxl import Workbook

from insights import selectors
from insights.customer_value import customer_value_panel
from insights.selectors import Scope


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list]


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _rate(value):
    return "" if value is None else value


def summary_table(scope: Scope, **_kw) -> Table:
    s = selectors.kpi_summary(scope=scope)
    rows = [
        [_("Total members"), s.total_members], [_("New members"), s.new_members],
        [_("Active members"), s.active_members], [_("Visits"), s.visits], [_("Revenue"), s.revenue],
        [_("Average order value"), s.average_order_value or ""],
        [_("Visits per active member"), _rate(s.visits_per_active_member)],
        [_("Repeat rate"), _rate(s.repeat_rate)], [_("Retention rate"), _rate(s.retention_rate)],
        [_("Churn rate"), _rate(s.churn_rate)], [_("Historical CLV"), s.historical_clv or ""],
        [_("Average spend per active member"), s.average_spend_per_active_member or ""],
        [_("Active (lifecycle)"), s.lifecycle_active], [_("Dormant"), s.lifecycle_dormant],
        [_("Lapsed"), s.lifecycle_lapsed], [_("No visit yet"), s.never_visited],
    ]
    return Table("summary", _("Summary"), [_("Figure"), _("Value")], rows)


def series_table(scope: Scope, unit: str | None = None, **_kw) -> Table:
    unit = unit or selectors.granularity_for(scope.period)
    points = selectors.kpi_series(scope=scope, unit=unit)
    return Table("series", _("Visits and revenue"), [_("From"), _("Visits"), _("Revenue"), _("Members with a visit")],
                 [[p.bucket, p.visits, p.revenue, p.active_members] for p in points])


def cohorts_table(scope: Scope, cohort_range: tuple[date, date] | None = None, months: int = 12,
                  today: date | None = None, **_kw) -> Table:
    first, last = cohort_range
    cohorts = selectors.kpi_cohorts(first_month=first, last_month=last, months=months,
                                    location_id=scope.location_id, today=today)
    headers = [_("Cohort"), _("Members")] + [f"+{k}" for k in range(1, months + 1)]
    return Table("cohorts", _("Cohort retention"), headers,
                 [[f"{c.month:%Y-%m}", c.size] + [_rate(r) for r in c.retention] for c in cohorts])


def rfm_table(scope: Scope, **_kw) -> Table:
    cells = selectors.kpi_rfm(scope=scope)
    return Table("rfm", _("RFM grid"), [_("Recency score"), _("Frequency score"), _("Members"), _("Revenue")],
                 [[c.recency, c.frequency, c.members, c.revenue] for c in cells])


def tiers_table(scope: Scope, **_kw) -> Table:
    rows = selectors.kpi_tiers(scope=scope)
    return Table("tiers", _("Tiers"), [_("Tier"), _("Members"), _("Upgrades into it"), _("Downgrades into it"),
                                       _("Active members"), _("Revenue")],
                 [[t.name, t.members, t.upgrades_in, t.downgrades_in, t.active_members, t.revenue] for t in rows])


def points_table(scope: Scope, **_kw) -> Table:
    p = selectors.kpi_points(scope=scope)
    rows = [[_("Issued"), p.issued], [_("Reversed by refunds"), p.reversed], [_("Redeemed"), p.redeemed],
            [_("Expired"), p.expired], [_("Adjusted down"), p.adjusted_down], [_("Outstanding"), p.outstanding],
            [_("Outstanding liability"), p.liability], [_("Redemption rate"), _rate(p.redemption_rate)],
            [_("Breakage rate"), _rate(p.breakage_rate)]]
    rows += [[_("Reward: %(name)s") % {"name": name}, count] for name, count, _points in p.top_rewards]
    return Table("points", _("Points"), [_("Figure"), _("Value")], rows)


def referrals_table(scope: Scope, **_kw) -> Table:
    r = selectors.kpi_referrals(scope=scope)
    rows = [[_("Referred members who joined"), r.referred], [_("Converted (paid visit)"), r.converted],
            [_("Conversion rate"), _rate(r.conversion_rate)],
            [_("Referred members with a visit"), r.referred_active],
            [_("Revenue from referred members"), r.revenue_from_referred]]
    rows += [[_("Referrer: %(name)s") % {"name": name}, made] for _pk, name, made, _converted in r.top_referrers]
    return Table("referrals", _("Referrals"), [_("Figure"), _("Value")], rows)


def appointments_table(scope: Scope, **_kw) -> Table:
    a = selectors.kpi_appointments(scope=scope)
    rows = [[p.name, p.bookings, p.booked_minutes, p.scheduled_minutes, _rate(p.utilisation)] for p in a.practitioners]
    return Table("appointments", _("Appointments by practitioner"),
                 [_("Practitioner"), _("Appointments"), _("Booked minutes"), _("Scheduled minutes"),
                  _("Utilisation")], rows)


def clv_table(scope: Scope, **_kw) -> Table:
    """The newest predictive-CLV fit's distribution (the period does not apply)."""
    panel = customer_value_panel()
    return Table("clv", _("Members by predicted CLV"), [_("From"), _("To"), _("Members")],
                 [[bucket["from"], bucket["to"], bucket["members"]] for bucket in panel.buckets])


def satisfaction_table(scope: Scope, **_kw) -> Table:
    s = selectors.kpi_satisfaction(scope=scope)
    rows = [[_("Answers"), s.nps.answers, ""], [_("Promoters (9-10)"), s.nps.promoters, ""],
            [_("Passives (7-8)"), s.nps.passives, ""], [_("Detractors (0-6)"), s.nps.detractors, ""],
            [_("NPS"), "" if s.nps.score is None else s.nps.score, ""],
            [_("Surveys sent"), s.response.denominator, ""], [_("Surveys answered"), s.response.numerator, ""],
            [_("Response rate"), _rate(s.response_rate), ""],
            [_("Follow-ups first due"), s.on_time.denominator, ""],
            [_("Follow-ups done on time"), s.on_time.numerator, ""],
            [_("Follow-ups on time rate"), _rate(s.followups_on_time_rate), ""],
            [_("Detractor follow-ups open at the period's end"), s.detractor_followups_open, ""],
            [_("Recalls"), s.recall.denominator, ""], [_("Recalls converted"), s.recall.numerator, ""],
            [_("Recall conversion"), _rate(s.recall_conversion_rate), ""]]
    rows += [[_("Average rating: %(name)s") % {"name": r.name}, "" if r.average is None else r.average, r.answers]
             for r in s.practitioner_ratings]
    return Table("satisfaction", _("Satisfaction"), [_("Figure"), _("Value"), _("Answers")], rows)


def campaigns_table(scope: Scope, **_kw) -> Table:
    c = selectors.kpi_campaigns(scope=scope)
    rows = [[row.name, row.measured_from.date(), row.measured_until.date(), row.treated, row.control,
             _blank(row.incremental_revenue), _blank(row.incremental_revenue_low), _blank(row.incremental_revenue_high),
             "" if row.significant is None else (_("yes") if row.significant else _("not significant")),
             row.cost, _blank(row.incremental_margin), _rate(row.roi)] for row in c.campaigns]
    rows.append([_("All campaigns"), "", "", "", "", c.incremental_revenue, "", "", c.significant, c.cost,
                 c.incremental_margin, _rate(c.roi)])
    return Table("campaigns", _("Campaign results"),
                 [_("Campaign"), _("Measured from"), _("Measured until"), _("Treated"), _("Control"),
                  _("Incremental revenue"), _("95 percent interval, low"), _("95 percent interval, high"),
                  _("Significant"),
                  _("Cost"), _("Incremental margin"), _("ROI")], rows)


def stored_value_table(scope: Scope, **_kw) -> Table:
    sv = selectors.kpi_stored_value(scope=scope)
    p = selectors.kpi_packages(scope=scope)
    f = p.figures
    rows = [[_("Topped up"), sv.topped_up], [_("Bonus granted"), sv.bonus_granted],
            [_("Spent with cards"), sv.spent], [_("Outstanding prepaid liability"), sv.outstanding],
            [_("Cards that fell below the threshold"), sv.renewal.fell_below],
            [_("Of them, topped up in time"), sv.renewal.renewed], [_("Renewal rate (续费率)"), _rate(sv.renewal.rate)],
            [_("Packages sold"), f.sold], [_("Package sales"), f.sales], [_("Sessions used"), f.sessions_used],
            [_("Value of sessions used"), f.used_value], [_("Sessions expired"), f.sessions_expired],
            [_("Unused sessions refunded"), f.sessions_refunded], [_("Money refunded for packages"), f.refunded_money],
            [_("Package revenue recognised"), f.recognised], [_("Sessions outstanding"), p.outstanding_sessions],
            [_("Outstanding sessions at recognised value"), p.outstanding_value],
            [_("Members whose package ran out"), p.renewal.ended],
            [_("Of them, bought another package in time"), p.renewal.renewed],
            [_("Package renewal rate (续卡率)"), _rate(p.renewal.rate)]]
    return Table("storedvalue", _("Stored value and packages"), [_("Figure"), _("Value")], rows)


def _blank(value):
    return "" if value is None else value


TABLES: dict[str, Callable[..., Table]] = {
    "summary": summary_table, "series": series_table, "cohorts": cohorts_table, "rfm": rfm_table,
    "tiers": tiers_table, "points": points_table, "referrals": referrals_table,
    "appointments": appointments_table, "clv": clv_table,
    "satisfaction": satisfaction_table, "campaigns": campaigns_table, "storedvalue": stored_value_table,
}


def _cell(value):
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read Chinese text right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows([[_cell(value) for value in row] for row in table.rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def table_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.name[:31]
    sheet.append(table.headers)
    for row in table.rows:
        sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
