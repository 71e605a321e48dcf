"""The predictive CLV of panel 5 (docs/kpis.md): each night, per clinic, BG/NBD and Gamma-Gamma
(insights/btyd.py) are fitted to every member's visits up to the end of yesterday, and the fit,
its figures and each active member's prediction are stored (`CustomerValueFit`,
`MemberValuePrediction`), or the reason why not.

A member's history in the models' terms, from the visits as the KPIs count them (checked out, not
voided: `insights.selectors.counted`) and their revenue (`total − refunded_total`):

- purchases are **visit days**: a member's counted visits on one local day are one purchase,
  worth the day's revenue;
- x = visit days after the first (repeat purchases); t_x = weeks from the first visit day to the
  last; T = weeks from the first visit day to the cut-off day;
- m̄ = the mean revenue of the repeat visit days (the first day left out, as in the literature).
"""
# ruff: noqa: S608 - the SQL is built from the constant fragments of insights.selectors

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from insights import btyd
from insights.models import CustomerValueFit, MemberValuePrediction
from insights.selectors import counted, insights_settings, local_start, money
from points.rules import clinic_zone

HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = Decimal("0.01")  # per month, compounded: about 12.7 % a year
WEEKS_PER_MONTH = 365.25 / 12 / 7
DAYS_PER_WEEK = 7.0
# Enough history: this many members with a repeat visit day (with money spent on repeat days, for
# Gamma-Gamma), and this many days from the clinic's first counted visit to the cut-off day.
MIN_REPEAT_MEMBERS = 100
MIN_HISTORY_DAYS = 180


@dataclass
class Histories:
    """One entry per member with a counted visit up to the cut-off day."""

    member_id: np.ndarray
    x: np.ndarray  # repeat visit days
    t_x: np.ndarray  # weeks
    T: np.ndarray  # weeks
    m: np.ndarray  # mean revenue of the repeat visit days (0 without any)
    days_since_last: np.ndarray
    predicted: np.ndarray  # the member is active (not archived or erased): gets a prediction
    first_day: date | None

    @property
    def customers(self) -> int:
        return int(self.x.size)

    @property
    def repeat_with_spend(self) -> np.ndarray:
        return (self.x > 0) & (self.m > 0)


def customer_histories(*, cutoff_on: date) -> Histories:
    """Every member's visit days up to the end of the local day `cutoff_on`, summarised."""
    sql = f"""
        WITH days AS (
            SELECT v.member_id, (v.visited_at AT TIME ZONE %(tz)s)::date AS day,
                   sum(v.total - v.refunded_total) AS value
            FROM visits_visit v
            WHERE v.visited_at < %(hi)s AND {counted()}
            GROUP BY 1, 2),
        per_member AS (
            SELECT member_id, count(*) - 1 AS x, min(day) AS first_day, max(day) AS last_day,
                   sum(value) AS spent, (array_agg(value ORDER BY day))[1] AS first_value
            FROM days GROUP BY member_id)
        SELECT p.member_id, p.x, p.last_day - p.first_day, %(cutoff)s - p.first_day,
               CASE WHEN p.x > 0 THEN ((p.spent - p.first_value) / p.x)::float8 ELSE 0 END,
               %(cutoff)s - p.last_day, m.status = 'active', p.first_day
        FROM per_member p JOIN members_member m ON m.id = p.member_id
        ORDER BY p.member_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tz": clinic_zone().key, "hi": local_start(cutoff_on + timedelta(days=1)),
                             "cutoff": cutoff_on})
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return Histories(empty.astype(int), empty.astype(int), empty, empty, empty, empty.astype(int),
                         empty.astype(bool), None)
    columns = list(zip(*rows, strict=True))
    return Histories(
        member_id=np.array(columns[0], dtype=np.int64), x=np.array(columns[1], dtype=np.int64),
        t_x=np.array(columns[2], dtype=float) / DAYS_PER_WEEK, T=np.array(columns[3], dtype=float) / DAYS_PER_WEEK,
        m=np.array(columns[4], dtype=float), days_since_last=np.array(columns[5], dtype=np.int64),
        predicted=np.array(columns[6], dtype=bool), first_day=min(columns[7]))


def _shortfalls(histories: Histories, cutoff_on: date) -> list[dict]:
    repeat = int(histories.repeat_with_spend.sum())
    days = (cutoff_on - histories.first_day).days if histories.first_day else 0
    reasons = []
    if repeat < MIN_REPEAT_MEMBERS:
        reasons.append({"code": "repeat_members", "have": repeat, "need": MIN_REPEAT_MEMBERS})
    if days < MIN_HISTORY_DAYS:
        reasons.append({"code": "history_days", "have": days, "need": MIN_HISTORY_DAYS})
    return reasons


def clv_edges(largest: float) -> list[Decimal]:
    """Bucket edges 0, 100, 200, 500, 1,000, 2,000, 5,000, … up to the first edge above `largest`."""
    edges = [Decimal(0)]
    step = 0
    while True:
        edge = Decimal((1, 2, 5)[step % 3]) * Decimal(10) ** (2 + step // 3)
        edges.append(edge)
        step += 1
        if edge > Decimal(str(largest)):
            return edges


def _distribution(clv: np.ndarray) -> list[dict]:
    if clv.size == 0:
        return []
    edges = clv_edges(float(clv.max()))
    counts, _bins = np.histogram(clv, bins=[float(e) for e in edges])
    return [{"from": f"{low:.2f}", "to": f"{high:.2f}", "members": int(n)}
            for low, high, n in zip(edges, edges[1:], counts, strict=False)]


@transaction.atomic
def _store(fit: CustomerValueFit, rows: list[str] | None, *, started: float) -> CustomerValueFit:
    fit.seconds = time.perf_counter() - started  # without the writing
    fit.save()
    MemberValuePrediction.objects.exclude(fit=fit).delete()
    if rows:
        columns = ("fit_id", "member_id", "frequency", "recency_weeks", "age_weeks", "monetary", "probability_alive",
                   "expected_visits", "expected_value", "clv")
        table = MemberValuePrediction._meta.db_table
        prefix = f"{fit.pk}\t"
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for start in range(0, len(rows), 10_000):
                copy.write("".join(prefix + row for row in rows[start:start + 10_000]))
    return fit


def customer_value_fit(*, now: datetime, today: date) -> tuple[CustomerValueFit, bool]:
    """Fit the models to the visits up to the end of yesterday (`today` − 1, the clinic's local
    day) and store the fit, or why there is none; returns it and whether it was made now. A fit
    for that cut-off day that exists already is returned as it is."""
    cutoff_on = today - timedelta(days=1)
    existing = CustomerValueFit.objects.filter(cutoff_on=cutoff_on).first()
    if existing is not None:
        return existing, False
    started = time.perf_counter()
    histories = customer_histories(cutoff_on=cutoff_on)
    repeat = histories.repeat_with_spend
    fit = CustomerValueFit(
        cutoff_on=cutoff_on, fitted_at=now, horizon_months=HORIZON_MONTHS, monthly_discount=MONTHLY_DISCOUNT,
        customers=histories.customers, repeat_customers=int(repeat.sum()),
        history_days=(cutoff_on - histories.first_day).days if histories.first_day else 0)
    if reasons := _shortfalls(histories, cutoff_on):
        fit.status, fit.reason = CustomerValueFit.Status.NOT_ENOUGH_HISTORY, reasons
        return _store(fit, None, started=started), True
    bgnbd = btyd.bgnbd_fit(histories.x, histories.t_x, histories.T)
    gamma_gamma = btyd.gamma_gamma_fit(histories.x[repeat], histories.m[repeat])
    if bgnbd.params is not None:
        fit.r, fit.alpha, fit.a, fit.b = (bgnbd.params.r, bgnbd.params.alpha, bgnbd.params.a, bgnbd.params.b)
        fit.bgnbd_log_likelihood = bgnbd.log_likelihood
    if gamma_gamma.params is not None:
        fit.p, fit.q, fit.v = gamma_gamma.params.p, gamma_gamma.params.q, gamma_gamma.params.v
        fit.gamma_gamma_log_likelihood = gamma_gamma.log_likelihood
    failures = [{"code": "not_converged", "model": name, "message": outcome.message}
                for name, outcome in (("BG/NBD", bgnbd), ("Gamma-Gamma", gamma_gamma)) if not outcome.converged]
    if not failures and gamma_gamma.params.population_mean is None:
        failures.append({"code": "infinite_mean", "model": "Gamma-Gamma", "q": gamma_gamma.params.q})
    rows = None if failures else _predict(fit, histories, bgnbd.params, gamma_gamma.params)
    if rows is None and not failures:
        failures.append({"code": "not_finite", "model": "BG/NBD"})
    if failures:
        fit.status, fit.reason = CustomerValueFit.Status.NOT_CONVERGED, failures
        fit.predicted_members = fit.active_members = 0
        fit.clv_per_member = fit.clv_total = fit.clv_per_active_member = None
        fit.expected_purchases_per_active_member, fit.distribution = None, []
        return _store(fit, None, started=started), True
    fit.status = CustomerValueFit.Status.FITTED
    return _store(fit, rows, started=started), True


def _predict(fit: CustomerValueFit, histories: Histories, bgnbd: btyd.BgNbd,
             gamma_gamma: btyd.GammaGamma) -> list[str] | None:
    """Each active member's prediction as a line of COPY text, and the fit's figures from them;
    None when a prediction is not a finite number."""
    chosen = histories.predicted
    x, t_x, T, m = histories.x[chosen], histories.t_x[chosen], histories.T[chosen], histories.m[chosen]
    alive = np.clip(btyd.bgnbd_probability_alive(bgnbd, x, t_x, T), 0.0, 1.0)
    visits = btyd.bgnbd_conditional_expected_purchases(bgnbd, HORIZON_MONTHS * WEEKS_PER_MONTH, x, t_x, T)
    value = btyd.gamma_gamma_expected_value(gamma_gamma, x, m)
    clv = btyd.customer_lifetime_value(bgnbd, gamma_gamma, x=x, t_x=t_x, T=T, m=m, months=HORIZON_MONTHS,
                                       weeks_per_month=WEEKS_PER_MONTH, monthly_discount=float(MONTHLY_DISCOUNT))
    if not all(np.all(np.isfinite(values)) for values in (alive, visits, value, clv)):
        return None
    clv = np.round(clv, 2)
    active_days = insights_settings().active_days
    active = histories.days_since_last[chosen] <= active_days
    fit.predicted_members = int(chosen.sum())
    fit.active_members = int(active.sum())
    fit.clv_per_member = money(clv.mean()) if clv.size else money(0)
    fit.clv_total = money(clv.sum())
    fit.clv_per_active_member = money(clv[active].mean()) if active.any() else None
    fit.expected_purchases_per_active_member = round(float(visits[active].mean()), 6) if active.any() else None
    fit.distribution = _distribution(clv)
    return [f"{member}\t{freq}\t{rec!r}\t{age!r}\t{mean:.2f}\t{p_alive!r}\t{n!r}\t{val:.2f}\t{c:.2f}\n"
            for member, freq, rec, age, mean, p_alive, n, val, c
            in zip(histories.member_id[chosen].tolist(), x.tolist(), t_x.tolist(), T.tolist(), m.tolist(),
                   alive.tolist(), visits.tolist(), value.tolist(), clv.tolist(), strict=True)]


# --- reading -----------------------------------------------------------------------------------

NOT_FITTED_YET = "not_fitted_yet"
PANEL_STATUSES = [*CustomerValueFit.Status.values, NOT_FITTED_YET]


@dataclass
class CustomerValuePanel:
    """What panel 5 and the KPI API show of the predictive CLV: the newest fit, or that there is
    none yet."""

    fit: CustomerValueFit | None

    @property
    def status(self) -> str:
        return self.fit.status if self.fit else NOT_FITTED_YET

    @property
    def fitted(self) -> bool:
        return self.status == CustomerValueFit.Status.FITTED

    @property
    def reason(self) -> str:
        if self.fit is None:
            return _("Not fitted yet: the first fit runs tonight.")
        return fit_reason_text(self.fit)

    @property
    def reason_codes(self) -> list[str]:
        return [reason["code"] for reason in self.fit.reason] if self.fit else [NOT_FITTED_YET]

    def __getattr__(self, name):
        if name.startswith("_") or name in ("fit",):
            raise AttributeError(name)
        return getattr(self.fit, name) if self.fit else None

    @property
    def bgnbd(self) -> dict | None:
        if not self.fitted:
            return None
        return {"r": self.fit.r, "alpha": self.fit.alpha, "a": self.fit.a, "b": self.fit.b,
                "log_likelihood": self.fit.bgnbd_log_likelihood}

    @property
    def gamma_gamma(self) -> dict | None:
        if not self.fitted:
            return None
        return {"p": self.fit.p, "q": self.fit.q, "v": self.fit.v,
                "log_likelihood": self.fit.gamma_gamma_log_likelihood}

    @property
    def buckets(self) -> list[dict]:
        return self.fit.distribution if self.fitted else []

    @property
    def chart(self) -> dict:
        """The distribution as the dashboard's bar chart draws it."""
        return {"labels": [f"¥{Decimal(b['from']):,.0f}–{Decimal(b['to']):,.0f}" for b in self.buckets],
                "members": [b["members"] for b in self.buckets], "name": _("Members"),
                "buckets": [[b["from"], b["to"]] for b in self.buckets]}

    @property
    def rule(self) -> dict:
        return {"min_repeat_members": MIN_REPEAT_MEMBERS, "min_history_days": MIN_HISTORY_DAYS}


def customer_value_panel() -> CustomerValuePanel:
    return CustomerValuePanel(customer_value_latest())


def customer_value_latest() -> CustomerValueFit | None:
    """The newest fit (whatever its status): what the dashboard shows."""
    return CustomerValueFit.objects.order_by("-cutoff_on").first()


def customer_value_members(*, fit: CustomerValueFit, low: Decimal | None = None,
                           high: Decimal | None = None) -> QuerySet[MemberValuePrediction]:
    """The fit's predictions, highest CLV first; `low` ≤ CLV < `high` when given."""
    predictions = fit.predictions.select_related("member").order_by("-clv", "member_id")
    if low is not None:
        predictions = predictions.filter(clv__gte=low)
    if high is not None:
        predictions = predictions.filter(clv__lt=high)
    return predictions


def fit_reason_text(fit: CustomerValueFit) -> str:
    """Why a fit has no prediction, in words: "Not enough history: 37 members with a repeat visit,
    100 needed." """
    parts = []
    for reason in fit.reason:
        code = reason.get("code")
        if code == "repeat_members":
            parts.append(ngettext("%(have)s member with a repeat visit, %(need)s needed",
                                  "%(have)s members with a repeat visit, %(need)s needed", reason["have"]) % reason)
        elif code == "history_days":
            parts.append(ngettext("%(have)s day of visits, %(need)s needed",
                                  "%(have)s days of visits, %(need)s needed", reason["have"]) % reason)
        elif code == "not_converged":
            parts.append(_("%(model)s did not converge") % reason)
        elif code == "not_finite":
            parts.append(_("%(model)s gives predictions that are not finite numbers") % reason)
        elif code == "infinite_mean":
            parts.append(_("Gamma-Gamma gives no finite mean spend (q = %(q)s, must be above 1)")
                         % {"q": f"{reason['q']:.3g}"})
    joined = pgettext("between the reasons of a list", "; ").join(parts)
    if fit.status == CustomerValueFit.Status.NOT_ENOUGH_HISTORY:
        return _("Not enough history: %(reasons)s.") % {"reasons": joined}
    if fit.status == CustomerValueFit.Status.NOT_CONVERGED:
        return _("No prediction: %(reasons)s.") % {"reasons": joined}
    return ""

