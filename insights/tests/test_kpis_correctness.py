"""Every KPI of the API against the same figure computed here in plain Python from the test's own
records of the visits it made (docs/kpis.md gives the definitions)."""

import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from insights.selectors import add_months

CENTS = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP))


def frac(numerator, denominator):
    return None if not denominator else round(numerator / denominator, 6)


def in_period(visits, start: date, end: date):
    return [v for v in visits if start <= v.day <= end]


def expected_summary(history, start: date, end: date, active_days=90, lapsed_days=180) -> dict:
    counted = history.counted()
    length = (end - start).days + 1
    now = in_period(counted, start, end)
    before = in_period(counted, start - timedelta(days=length), start - timedelta(days=1))
    per_member = Counter(v.member_id for v in now)
    active, previous = set(per_member), {v.member_id for v in before}
    revenue = sum((v.net for v in in_period(history.visits, start, end)), Decimal(0))
    to_date = [v for v in counted if v.day <= end]
    last_day = {}
    for v in to_date:
        last_day[v.member_id] = max(last_day.get(v.member_id, v.day), v.day)
    ages = [(end - day).days for day in last_day.values()]
    members = history.members
    return {
        "visits": len(now), "active_members": len(active),
        "new_members": sum(1 for m in members if start <= m.joined_on <= end),
        "total_members": sum(1 for m in members if m.joined_on <= end),
        "revenue": money(revenue),
        "average_order_value": money(revenue / len(now)) if now else None,
        "visits_per_active_member": frac(len(now), len(active)),
        "repeat_rate": frac(sum(1 for n in per_member.values() if n >= 2), len(active)),
        "retention_rate": frac(len(previous & active), len(previous)),
        "churn_rate": None if not previous else round(1 - round(len(previous & active) / len(previous), 6), 6),
        "historical_clv": money(sum((v.net for v in to_date), Decimal(0)) / len(last_day)) if last_day else None,
        "lifecycle": {"active": sum(1 for a in ages if a <= active_days),
                      "dormant": sum(1 for a in ages if active_days < a <= lapsed_days),
                      "lapsed": sum(1 for a in ages if a > lapsed_days),
                      "never_visited": sum(1 for m in members if m.joined_on <= end) - len(last_day)},
    }


def api_get(client, path, **params):
    response = client.get(f"/api/v1/kpis/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


PERIODS = [
    (date(2024, 1, 1), date(2024, 1, 31)),   # ends the evening of the 23:30 visit on 31 January
    (date(2024, 2, 1), date(2024, 2, 29)),   # leap February, with 23:30 on the 29th
    (date(2024, 2, 29), date(2024, 2, 29)),  # the leap day alone
    (date(2024, 3, 1), date(2024, 3, 31)),   # starts ten minutes after midnight on 1 March
    (date(2023, 10, 1), date(2023, 12, 31)),
    (date(2024, 1, 1), date(2024, 6, 30)),
]


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_the_summary_matches_a_plain_computation(kpi, committed_db, start, end):
    got = api_get(kpi.client, "summary", **{"from": start.isoformat(), "to": end.isoformat()})
    wanted = expected_summary(kpi.history, start, end)

    for key, value in wanted.items():
        assert got[key] == value, key


def test_the_boundary_visits_fall_on_their_local_days(kpi, committed_db):
    client, history = kpi.client, kpi.history

    january_31 = api_get(client, "summary", **{"from": "2024-01-31", "to": "2024-01-31"})
    february_1 = api_get(client, "summary", **{"from": "2024-02-01", "to": "2024-02-01"})
    leap_day = api_get(client, "summary", **{"from": "2024-02-29", "to": "2024-02-29"})

    assert january_31["visits"] == len(in_period(history.counted(), date(2024, 1, 31), date(2024, 1, 31))) >= 1
    assert february_1["visits"] == len(in_period(history.counted(), date(2024, 2, 1), date(2024, 2, 1)))
    assert leap_day["visits"] == len(in_period(history.counted(), date(2024, 2, 29), date(2024, 2, 29))) >= 2


def test_the_series_adds_up_per_local_day_week_and_month(kpi, committed_db):
    client, history = kpi.client, kpi.history
    counted = history.counted()

    for unit in ("day", "week", "month"):
        got = api_get(client, "series", **{"from": "2024-01-15", "to": "2024-03-10", "unit": unit})
        assert got["unit"] == unit
        for point in got["points"]:
            first = date.fromisoformat(point["bucket"])
            last = {"day": first, "week": first + timedelta(days=6),
                    "month": add_months(first, 1) - timedelta(days=1)}[unit]
            first, last = max(first, date(2024, 1, 15)), min(last, date(2024, 3, 10))
            rows = in_period(counted, first, last)
            assert point["visits"] == len(rows)
            assert point["active_members"] == len({v.member_id for v in rows})
            assert point["revenue"] == money(sum((v.net for v in in_period(history.visits, first, last)),
                                                 Decimal(0)))


def test_cohorts_match_a_plain_computation(kpi, committed_db):
    got = api_get(kpi.client, "cohorts", **{"from": "2023-09", "to": "2024-03", "months": 12})
    firsts = {}
    months = defaultdict(set)
    for v in sorted(kpi.history.counted(), key=lambda v: v.at):
        firsts.setdefault(v.member_id, v.day.replace(day=1))
        months[v.member_id].add(v.day.replace(day=1))

    assert [row["cohort"] for row in got] == ["2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02",
                                              "2024-03"]
    for row in got:
        cohort = date.fromisoformat(row["cohort"] + "-01")
        members = [m for m, first in firsts.items() if first == cohort]
        assert row["size"] == len(members)
        assert len(row["retention"]) == 12
        for k, value in enumerate(row["retention"], start=1):
            back = sum(1 for m in members if add_months(cohort, k) in months[m])
            assert value == (frac(back, len(members)) if members else 0.0), (row["cohort"], k)


def test_rfm_scores_are_quintiles_of_recency_frequency_and_spend(kpi, committed_db):
    end = date(2024, 6, 30)
    window = [v for v in kpi.history.counted() if add_months(end, -12) < v.day <= end]
    per_member = defaultdict(list)
    for v in window:
        per_member[v.member_id].append(v)
    figures = {m: ((end - max(v.day for v in vs)).days, len(vs), sum((v.net for v in vs), Decimal(0)))
               for m, vs in per_member.items()}
    n = len(figures)

    def score(value, values, higher_is_better=True):
        at_most = sum(1 for other in values if (other <= value if higher_is_better else other >= value))
        return math.ceil(5 * at_most / n)

    cells = Counter()
    for recency, frequency, _spent in figures.values():
        cells[(score(recency, [f[0] for f in figures.values()], higher_is_better=False),
               score(frequency, [f[1] for f in figures.values()]))] += 1

    got = api_get(kpi.client, "rfm", **{"from": "2024-06-01", "to": "2024-06-30"})

    assert {(c["recency"], c["frequency"]): c["members"] for c in got if c["members"]} == dict(cells)
    assert sum(c["members"] for c in got) == n


def test_the_members_behind_a_figure_are_the_ones_it_counts(kpi, committed_db):
    client, history = kpi.client, kpi.history
    start, end = date(2024, 2, 1), date(2024, 2, 29)
    now = in_period(history.counted(), start, end)
    before = in_period(history.counted(), date(2024, 1, 3), date(2024, 1, 31))
    per_member = Counter(v.member_id for v in now)
    params = {"from": start.isoformat(), "to": end.isoformat()}

    active = api_get(client, "members", segment="active", **params)
    repeat = api_get(client, "members", segment="repeat", **params)
    churned = api_get(client, "members", segment="churned", **params)

    assert active["members"] == sorted(per_member)
    assert repeat["members"] == sorted(m for m, count in per_member.items() if count >= 2)
    assert churned["members"] == sorted({v.member_id for v in before} - set(per_member))


def test_referrals_count_referred_members_and_their_revenue(kpi, committed_db):
    start, end = date(2023, 8, 1), date(2024, 6, 30)
    history = kpi.history
    referred = {m.id for m in history.members if m.referred and start <= m.joined_on <= end}
    paid = {v.member_id for v in history.visits if v.net > 0 and v.day <= end}
    revenue = sum((v.net for v in in_period(history.visits, start, end)
                   if v.member_id in {m.id for m in history.members if m.referred}), Decimal(0))

    got = api_get(kpi.client, "referrals", **{"from": start.isoformat(), "to": end.isoformat()})

    assert got["referred"] == len(referred) > 0
    assert got["converted"] == len(referred & paid)
    assert got["conversion_rate"] == frac(len(referred & paid), len(referred))
    assert got["revenue_from_referred"] == money(revenue)
