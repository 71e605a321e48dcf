"""The nightly predictive-CLV fit (insights/customer_value.py) at 100,000 members and about
1,000,000 visits drawn from BG/NBD and Gamma-Gamma: the whole run (read the visit days, fit both
models, predict every member, store the fit and 100,000 predictions), and its parts."""

import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from insights import btyd
from insights import customer_value as cv
from insights.models import CustomerValueFit

SCALE = float(os.environ.get("BENCH_CLV_SCALE", "1"))
MEMBERS = int(100_000 * SCALE)
TARGET_S = 30.0
ZONE = ZoneInfo("Asia/Shanghai")
TODAY = datetime(2026, 12, 1, tzinfo=ZONE)
# About 8 visit days a year while a client; after each visit 1 in 14 stop coming: about 10 visits
# per member over three years.
TRUE_BGNBD = btyd.BgNbd(r=4.0, alpha=25.0, a=1.2, b=15.0)
TRUE_GG = btyd.GammaGamma(p=5.0, q=4.0, v=800.0)


def _visits(member_ids: list[int], rng: np.random.Generator):
    """(member id, visited_at, total) rows of the generative process, members first seen over the
    three years before TODAY."""
    n = len(member_ids)
    age_days = rng.uniform(1, 1095, n)
    lam = rng.gamma(TRUE_BGNBD.r, 1 / TRUE_BGNBD.alpha, n) / 7  # per day
    drop = rng.beta(TRUE_BGNBD.a, TRUE_BGNBD.b, n)
    nu = rng.gamma(TRUE_GG.q, 1 / TRUE_GG.v, n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    first = True
    while active.any():
        idx = np.flatnonzero(active)
        if not first:
            now[idx] += rng.exponential(1 / lam[idx])
        inside = now[idx] <= age_days[idx]
        buying = idx[inside]
        values = np.maximum(np.round(rng.gamma(TRUE_GG.p, 1 / nu[buying]), 2), 1.0)
        for member, offset, value in zip(buying, now[buying], values, strict=True):
            yield member_ids[member], TODAY - timedelta(days=float(age_days[member] - offset)), f"{value:.2f}"
        active[idx[~inside]] = False
        if not first:
            active[buying[rng.random(buying.size) < drop[buying]]] = False
        first = False


def main() -> list[Figure]:
    clinic = fresh_clinic("benchclv")
    try:
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            return _measure()
    finally:
        drop_clinic(clinic)


def _measure() -> list[Figure]:
    rng = np.random.default_rng(2005)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT id FROM members_member ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        columns = ("member_id, visited_at, staff_id, source, subtotal, line_discount, tier_discount, coupon_discount, "
                   "points_used, points_discount, total, refunded_total, external_ref, created_at")
        count = 0
        with cursor.copy(f"COPY visits_visit ({columns}) FROM STDIN") as copy:
            for member, at, value in _visits(ids, rng):
                copy.write_row((member, at, None, "checkout", value, 0, 0, 0, 0, 0, value, 0, "", at))
                count += 1
        cursor.execute("ANALYZE visits_visit")
    print(f"  ({count:,} visits of {len(ids):,} members generated in {time.perf_counter() - started:.0f} s)",
          flush=True)

    today = TODAY.date()
    cutoff = today - timedelta(days=1)
    timings = {}
    started = time.perf_counter()
    histories = cv.customer_histories(cutoff_on=cutoff)
    timings["read"] = time.perf_counter() - started
    started = time.perf_counter()
    bgnbd = btyd.bgnbd_fit(histories.x, histories.t_x, histories.T)
    timings["bgnbd"] = time.perf_counter() - started
    started = time.perf_counter()
    repeat = histories.repeat_with_spend
    gamma_gamma = btyd.gamma_gamma_fit(histories.x[repeat], histories.m[repeat])
    timings["gg"] = time.perf_counter() - started
    print(f"  BG/NBD {bgnbd.params} (true {TRUE_BGNBD}); Gamma-Gamma {gamma_gamma.params} (true {TRUE_GG})",
          flush=True)

    started = time.perf_counter()
    fit, made = cv.customer_value_fit(now=TODAY, today=today)
    total = time.perf_counter() - started
    assert made and fit.status == CustomerValueFit.Status.FITTED, (fit.status, fit.reason)
    assert fit.predicted_members == histories.x.size
    return [
        Figure(f"nightly fit, {MEMBERS:,} members, {count:,} visits", total, target=TARGET_S),
        Figure("  read the visit days (SQL)", timings["read"]),
        Figure("  fit BG/NBD", timings["bgnbd"]),
        Figure("  fit Gamma-Gamma", timings["gg"]),
        Figure("  predict and store (the rest)", total - sum(timings.values())),
    ]
