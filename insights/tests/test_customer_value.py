"""The nightly predictive-CLV fit (insights/customer_value.py) on a clinic's real visits: a clinic
whose history is drawn from BG/NBD and Gamma-Gamma (imported through the visits import, with
checkouts and refunds beside) gets a fit, and a clinic with little history gets the reason; both
as the job stores them and as the API and the dashboard show them. Expected figures are computed
here from the test's own records of the visits."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from checkout.services import LineInput, PaymentInput, checkout_complete
from clinics.models import Clinic
from conftest import client_for
from insights import btyd
from insights.customer_value import (
    HORIZON_MONTHS,
    MIN_HISTORY_DAYS,
    MIN_REPEAT_MEMBERS,
    MONTHLY_DISCOUNT,
    WEEKS_PER_MONTH,
    customer_value_fit,
    customer_value_panel,
)
from insights.models import CustomerValueFit, MemberValuePrediction
from insights.tasks import customer_value_fit_nightly
from insights.tests.clv_history import ZONE, Visit, clv_history_make, csv_rows_import
from jobs.models import JobRun
from members.models import Member
from members.services import member_register
from points.rules import local_date
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create


@dataclass
class Fitted:
    clinic: Clinic
    client: Client
    today: date
    visits: list[Visit]
    archived_id: int


@pytest.fixture(scope="module")
def fitted(committed_clinic, django_db_blocker) -> Fitted:
    clinic = committed_clinic("clvfit", "预测诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        owner = User.objects.get(username="owner")
        today = local_date(timezone.now())
        visits, archived_id = clv_history_make(owner, today)
        customer_value_fit_nightly.apply()
        client = client_for(clinic, owner)
    connection.set_schema_to_public()
    return Fitted(clinic, client, today, visits, archived_id)


def _summaries(visits: list[Visit], cutoff: date) -> dict[int, tuple]:
    """Per member, from the test's own records: (x, t_x weeks, T weeks, m̄, days since the last)."""
    per_day = defaultdict(lambda: defaultdict(Decimal))
    for v in visits:
        if not v.voided and v.day <= cutoff:
            per_day[v.member_id][v.day] += v.net
    result = {}
    for member, days in per_day.items():
        ordered = sorted(days)
        x = len(ordered) - 1
        repeat_values = [days[d] for d in ordered[1:]]
        m = float(sum(repeat_values) / x) if x else 0.0
        result[member] = (x, (ordered[-1] - ordered[0]).days / 7, (cutoff - ordered[0]).days / 7, m,
                          (cutoff - ordered[-1]).days)
    return result


def test_the_job_fits_a_clinic_with_enough_history_from_its_counted_visit_days(fitted, committed_db):
    cutoff = fitted.today - timedelta(days=1)
    own = _summaries(fitted.visits, cutoff)
    repeat = sum(1 for x, _tx, _t, m, _d in own.values() if x > 0 and m > 0)
    assert repeat >= MIN_REPEAT_MEMBERS  # the history is meant to be enough
    with tenant_context(fitted.clinic):
        fit = CustomerValueFit.objects.get()
        predictions = {p.member_id: p for p in MemberValuePrediction.objects.filter(fit=fit)}

    assert fit.status == "fitted" and fit.cutoff_on == cutoff
    assert (fit.customers, fit.repeat_customers) == (len(own), repeat)
    # every member with a visit is predicted except the archived one
    assert set(predictions) == set(own) - {fitted.archived_id}
    for member_id, (x, t_x, T, m, _days) in own.items():
        if member_id in predictions:
            p = predictions[member_id]
            assert (p.frequency, p.recency_weeks, p.age_weeks) == (x, pytest.approx(t_x), pytest.approx(T))
            assert p.monetary == Decimal(f"{m:.2f}")
    # the refunded-in-full visit is no purchase, the part refund counts its net, two visits on one
    # day are one purchase day worth both
    with tenant_context(fitted.clinic):
        refunds = Member.objects.get(phone="+8613800001111").pk
    assert predictions[refunds].frequency == 2
    assert predictions[refunds].monetary == Decimal("300.00")  # (200 + 400) / 2

    # the parameters are the maximum-likelihood ones for these summaries
    ids = sorted(own)
    arrays = [np.array([own[i][k] for i in ids]) for k in range(4)]
    bgnbd = btyd.bgnbd_fit(*arrays[:3]).params
    assert [fit.r, fit.alpha, fit.a, fit.b] == pytest.approx([bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b], rel=1e-3)
    chosen = (arrays[0] > 0) & (arrays[3] > 0)
    gg = btyd.gamma_gamma_fit(arrays[0][chosen], arrays[3][chosen]).params
    assert [fit.p, fit.q, fit.v] == pytest.approx([gg.p, gg.q, gg.v], rel=1e-3)


def test_the_stored_clv_is_the_models_expectation_and_the_figures_add_up(fitted, committed_db):
    cutoff = fitted.today - timedelta(days=1)
    own = _summaries(fitted.visits, cutoff)
    with tenant_context(fitted.clinic):
        fit = CustomerValueFit.objects.get()
        predictions = list(MemberValuePrediction.objects.filter(fit=fit))
    bgnbd, gg = btyd.BgNbd(fit.r, fit.alpha, fit.a, fit.b), btyd.GammaGamma(fit.p, fit.q, fit.v)

    for p in predictions[:40]:
        x, t_x, T, m, _days = own[p.member_id]
        alive = float(btyd.bgnbd_probability_alive(bgnbd, x, t_x, T))
        visits = float(btyd.bgnbd_conditional_expected_purchases(bgnbd, 12 * 365.25 / 12 / 7, x, t_x, T))
        value = (gg.p * gg.v + gg.p * x * m) / (gg.p * x + gg.q - 1)
        discounted = sum(
            (float(btyd.bgnbd_conditional_expected_purchases(bgnbd, k * WEEKS_PER_MONTH, x, t_x, T))
             - float(btyd.bgnbd_conditional_expected_purchases(bgnbd, (k - 1) * WEEKS_PER_MONTH, x, t_x, T)))
            / (1 + float(MONTHLY_DISCOUNT)) ** k for k in range(1, HORIZON_MONTHS + 1))
        assert p.probability_alive == pytest.approx(alive)
        assert p.expected_visits == pytest.approx(visits, rel=1e-5)
        assert float(p.expected_value) == pytest.approx(value, abs=0.006)
        assert float(p.clv) == pytest.approx(value * discounted, abs=0.006)
        assert p.clv < p.expected_value * Decimal(str(p.expected_visits)) + Decimal("0.01")

    active = [p for p in predictions if own[p.member_id][4] <= 90]
    clv = [p.clv for p in predictions]
    assert fit.predicted_members == len(predictions) and fit.active_members == len(active)
    assert fit.clv_per_active_member == (sum(p.clv for p in active) / len(active)).quantize(Decimal("0.01"))
    assert fit.clv_total == sum(clv)
    assert sum(bucket["members"] for bucket in fit.distribution) == len(predictions)
    for bucket in fit.distribution:
        low, high = Decimal(bucket["from"]), Decimal(bucket["to"])
        assert bucket["members"] == sum(1 for c in clv if low <= c < high)


def test_the_run_is_logged_and_a_second_run_the_same_night_changes_nothing(fitted, committed_db):
    runs = JobRun.objects.filter(clinic=fitted.clinic, job="insights.tasks.customer_value_fit_nightly")
    assert runs.get().status == "succeeded"
    assert runs.get().counts["fits_made"] == 1 and runs.get().counts["members_predicted"] > 100

    with tenant_context(fitted.clinic):
        before = list(MemberValuePrediction.objects.order_by("pk").values_list("pk", "clv"))
        customer_value_fit_nightly.apply()
        assert list(MemberValuePrediction.objects.order_by("pk").values_list("pk", "clv")) == before
        assert CustomerValueFit.objects.count() == 1
    connection.set_schema_to_public()
    assert runs.order_by("-pk").first().counts == {"fits_made": 0, "members_predicted": 0}


def test_the_api_shows_the_fit_with_its_date_and_parameters(fitted, committed_db):
    with tenant_context(fitted.clinic):
        fit = CustomerValueFit.objects.get()
        top = MemberValuePrediction.objects.order_by("-clv", "member_id").select_related("member").first()
    host = {"HTTP_HOST": f"{fitted.clinic.schema_name}.localhost"}

    panel = fitted.client.get("/api/v1/kpis/clv/", **host).json()
    summary = fitted.client.get("/api/v1/kpis/summary/?from=2025-01-01&to=2025-01-31", **host).json()
    members = fitted.client.get("/api/v1/kpis/clv/members/", **host).json()

    assert panel["status"] == "fitted" and panel["reason"] == ""
    assert panel["cutoff_on"] == str(fit.cutoff_on) and panel["horizon_months"] == 12
    assert panel["bgnbd"]["r"] == fit.r and panel["gamma_gamma"]["q"] == fit.q
    assert panel["clv_per_active_member"] == str(fit.clv_per_active_member)
    assert sum(b["members"] for b in panel["distribution"]) == fit.predicted_members
    assert summary["predictive_clv"]["clv_per_active_member"] == str(fit.clv_per_active_member)
    assert members["count"] == fit.predicted_members
    assert members["members"][0]["member"] == top.member_id and members["members"][0]["clv"] == str(top.clv)
    high = fitted.client.get(f"/api/v1/kpis/clv/members/?min={top.clv}", **host).json()
    assert [m["member"] for m in high["members"]] == [top.member_id]


def test_the_dashboard_shows_the_prediction_and_its_members(fitted, committed_db):
    with tenant_context(fitted.clinic):
        fit = CustomerValueFit.objects.get()
        top = MemberValuePrediction.objects.order_by("-clv", "member_id").select_related("member").first()
        top_name = top.member.name
        predictions = list(MemberValuePrediction.objects.filter(fit=fit))
    host = {"HTTP_HOST": f"{fitted.clinic.schema_name}.localhost"}

    page = fitted.client.get("/insights/", **host).content.decode()
    listing = fitted.client.get("/insights/clv/members/", **host).content.decode()
    exported = fitted.client.get("/insights/clv/members/?fmt=csv", **host).content.decode("utf-8-sig")

    assert 'data-status="fitted"' in page and f"¥{fit.clv_per_active_member}" in page
    cutoff = fit.cutoff_on  # in the clinic's language, as every page names a day
    cutoff_day = f"{cutoff.year}年{cutoff.month}月{cutoff.day}日 周{'一二三四五六日'[cutoff.weekday()]}"
    assert 'data-chart="clv"' in page and cutoff_day in page
    assert f"r = {fit.r:.4g}" in page and f"γ = {fit.v:.4g}" in page
    assert top_name in listing and f"¥{top.clv}" in listing
    assert len(list(csv.reader(io.StringIO(exported)))) == fit.predicted_members + 1
    busiest = max(fit.distribution, key=lambda b: b["members"])
    in_bucket = fitted.client.get(f"/insights/clv/members/?min={busiest['from']}&max={busiest['to']}&fmt=csv",
                                  **host).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(in_bucket)))[1:]
    assert len(rows) == busiest["members"]
    assert all(Decimal(busiest["from"]) <= Decimal(row[-1]) < Decimal(busiest["to"]) for row in rows)
    assert fitted.client.get("/insights/clv/members/?min=abc", **host).status_code == 400
    buckets = fitted.client.get("/insights/export/clv.csv", **host).content.decode("utf-8-sig")
    assert [int(row[2]) for row in list(csv.reader(io.StringIO(buckets)))[1:]] == [
        sum(1 for p in predictions if Decimal(b["from"]) <= p.clv < Decimal(b["to"])) for b in fit.distribution]


# --- a clinic without enough history (the shared test clinic) --------------------------------------

def test_a_clinic_without_enough_history_gets_the_reason(owner, staff_client):
    category = category_create(name="护理", code="care")
    item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK", category=category,
                                 price=Decimal("88.00"))
    today = local_date(timezone.now())
    for n in range(3):
        member = member_register(name=f"少{n}", phone=f"1391234560{n}", actor=owner)
        for days_ago in ((40, 12) if n < 2 else (12,)):
            checkout_complete(member=member, actor=owner,
                              at=datetime.combine(today - timedelta(days=days_ago), time(15), tzinfo=ZONE),
                              lines=[LineInput(item_id=item.pk)], payments=[PaymentInput("cash", Decimal("88.00"))])
    client = staff_client(owner)
    assert client.get("/api/v1/kpis/clv/").json()["status"] == "not_fitted_yet"

    customer_value_fit_nightly.delay()

    fit = CustomerValueFit.objects.get()
    assert fit.status == "not_enough_history" and fit.cutoff_on == today - timedelta(days=1)
    assert fit.reason == [{"code": "repeat_members", "have": 2, "need": MIN_REPEAT_MEMBERS},
                          {"code": "history_days", "have": 39, "need": MIN_HISTORY_DAYS}]
    assert not MemberValuePrediction.objects.exists() and fit.r is None
    text = (f"Not enough history: 2 members with a repeat visit, {MIN_REPEAT_MEMBERS} needed; "
            f"39 days of visits, {MIN_HISTORY_DAYS} needed.")
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    panel = client.get("/api/v1/kpis/clv/", **english).json()
    assert panel["status"] == "not_enough_history" and panel["reason"] == text
    assert panel["bgnbd"] is None and panel["distribution"] == []
    summary = client.get("/api/v1/kpis/summary/?from=2025-01-01&to=2025-01-31", **english).json()
    assert summary["predictive_clv"]["reason"] == text
    chinese = client.get("/api/v1/kpis/clv/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["reason"]
    assert chinese == (f"历史数据不足：2 位会员有复购到店，需要 {MIN_REPEAT_MEMBERS} 位；"
                       f"到店记录共 39 天，需要 {MIN_HISTORY_DAYS} 天。")
    page = client.get("/insights/").content.decode()  # in the clinic's language, zh-Hans
    assert 'data-status="not_enough_history"' in page and chinese in page
    assert chinese in client.get("/insights/clv/members/").content.decode()
    run = JobRun.objects.filter(job="insights.tasks.customer_value_fit_nightly").order_by("-pk").first()
    assert run.status == "succeeded" and run.counts == {"fits_made": 1, "members_predicted": 0}


def test_there_is_one_fit_per_cutoff_day_and_the_newest_is_read(owner):
    first, made = customer_value_fit(now=timezone.now(), today=date(2025, 3, 1))
    second, made_again = customer_value_fit(now=timezone.now(), today=date(2025, 3, 2))
    again, made_third = customer_value_fit(now=timezone.now(), today=date(2025, 3, 2))

    assert made and made_again and not made_third and again.pk == second.pk
    assert first.cutoff_on == date(2025, 2, 28) and second.cutoff_on == date(2025, 3, 1)
    assert customer_value_panel().fit == second


def test_a_history_the_models_cannot_fit_gets_no_prediction_and_says_why(owner, staff_client):
    """110 members who each came twice, half a year apart, and paid exactly the same each time:
    enough history, but Gamma-Gamma's spread of spend runs off to nothing (q → ∞), so there is no
    prediction and the reason says which model failed."""
    today = local_date(timezone.now())
    csv_rows_import("members", [{"name": f"同价{i}", "phone": f"1360000{i:04d}", "member_number": f"S{i:04d}",
                         "joined_on": str(today - timedelta(days=400))} for i in range(110)], owner)
    csv_rows_import("visits", [{"member_number": f"S{i:04d}", "visited_at": f"{today - timedelta(days=days + i)} 12:00",
                        "external_ref": f"S{i}-{days}", "item_name": "面膜", "unit_price": "88.00",
                        "payment_method": "cash"} for i in range(110) for days in (200, 20)], owner)

    fit, made = customer_value_fit(now=timezone.now(), today=today)

    assert made and fit.status == "not_converged" and fit.repeat_customers == 110
    assert [reason["model"] for reason in fit.reason] == ["Gamma-Gamma"]
    assert not MemberValuePrediction.objects.exists()
    panel = staff_client(owner).get("/api/v1/kpis/clv/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert panel["status"] == "not_converged" and panel["clv_per_active_member"] is None
    assert panel["reason"] == "No prediction: Gamma-Gamma did not converge."
