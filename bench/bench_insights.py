"""The KPI API at 100,000 members, 1,000,000 visits and 3,000,000 ledger entries: the server time
of each panel (the whole request through the test client: middleware, authentication, the
selectors and the serializer), next to a hand-written SQL query computing the same figures in the
same run, as the anchor. The figures of the two must agree; the report gives each median and the
ratio."""
# ruff: noqa: S608 - the SQL is built from constants of this module

import os
import time
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from clinics.context import clinic_host
from insights.rollups import rollups_rebuild

# BENCH_INSIGHTS_SCALE=0.01 runs the same at a hundredth of the volume, to try the benchmark out.
SCALE = float(os.environ.get("BENCH_INSIGHTS_SCALE", "1"))
MEMBERS = int(100_000 * SCALE)
VISITS = int(1_000_000 * SCALE)
ENTRIES_PER_ACCOUNT = 30  # 3,000,000 entries at full scale
BOOKINGS = int(200_000 * SCALE)
RUNS = 7
TARGET_MS = 300.0
COHORT_TARGET_MS = 500.0
TZ = "Asia/Shanghai"
# The period measured: a month, its previous month, and its same month a year earlier, inside
# three years of history (2024-01-01 to 2026-11-30).
PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}
YEAR = {"from": "2025-11-01", "to": "2026-10-31"}
COHORTS = {"from": "2025-11", "to": "2026-10", "months": "12"}


def _data() -> dict[str, float]:
    """Visits (2 % where nothing was paid, 3 % refunded in full, 3 % in part), lines and refunds of
    the zero-value visits (a third of them refunded, so voided), 30 ledger entries per member,
    bookings, tiers, referrals, surveys and follow-ups: set-based SQL with triggers off. Returns seconds per part."""
    timings = {}
    owner_id = User.objects.get(username="owner").pk
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT setseed(0.16)")
        started = time.perf_counter()
        cursor.execute("""
            INSERT INTO visits_visit (member_id, visited_at, staff_id, source, subtotal, line_discount, tier_discount,
                                      coupon_discount, points_used, points_discount, total, refunded_total,
                                      external_ref, created_at)
            SELECT member_id, at, NULL, 'checkout', total, 0, 0, 0, 0, 0, total,
                   CASE WHEN r < 0.03 THEN total WHEN r < 0.06 THEN round(total / 2, 2) ELSE 0 END, '', now()
            FROM (SELECT (SELECT min(id) FROM members_member)
                         + floor(power(random(), 1.6) * %(members)s)::int AS member_id,
                         timestamptz '2024-01-01 00:00+08' + random() * interval '1064 days' AS at,
                         CASE WHEN random() < 0.02 THEN 0 ELSE round((50 + random() * 3000)::numeric, 2) END AS total,
                         random() AS r
                  FROM generate_series(1, %(visits)s)) g""", {"members": MEMBERS, "visits": VISITS})
        cursor.execute("""
            INSERT INTO visits_visitline (visit_id, item_id, name, category_id, quantity, unit_price, discount,
                                          line_total, refunded_quantity, points_earned)
            SELECT id, NULL, '面诊', NULL, 1, 0, 0, 0, CASE WHEN id % 3 = 0 THEN 1 ELSE 0 END, 0
            FROM visits_visit WHERE total = 0""")
        cursor.execute("""
            INSERT INTO visits_refund (visit_id, amount, reason, actor_id, points_reversed, points_unrecovered,
                                       points_restored, created_at)
            SELECT id, 0, 'bench', %(owner)s, 0, 0, 0, visited_at + interval '1 day'
            FROM visits_visit WHERE total = 0 AND id %% 3 = 0""", {"owner": owner_id})
        timings["visits"] = time.perf_counter() - started
        print(f"  (visits generated in {timings['visits']:.0f} s)", flush=True)
        started = time.perf_counter()
        cursor.execute("""
            INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
            SELECT id, 'points', 0, 0, 0, now() FROM members_member""")
        cursor.execute("""
            INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, reason,
                                      effective_at, created_at)
            SELECT account_id, kind, amount, sum(amount) OVER (PARTITION BY account_id ORDER BY n), 'bench', '', '',
                   timestamptz '2024-01-01 00:00+08' + n * interval '35 days' + (account_id %% 30) * interval '1 day',
                   now()
            FROM (SELECT a.id AS account_id, n,
                         CASE WHEN n %% 10 = 5 THEN 'redeem' WHEN n %% 10 = 0 THEN 'expire'
                              WHEN n %% 10 = 7 THEN 'bonus' ELSE 'earn' END AS kind,
                         CASE WHEN n %% 10 = 5 THEN -150 WHEN n %% 10 = 0 THEN -40 ELSE 100 END AS amount
                  FROM points_account a CROSS JOIN generate_series(1, %(per)s) AS n) e
            ORDER BY account_id, n""", {"per": ENTRIES_PER_ACCOUNT})
        cursor.execute("""
            UPDATE points_account a SET balance = t.total, lifetime_earned = t.earned
            FROM (SELECT account_id, sum(amount) AS total, sum(amount) FILTER (WHERE amount > 0) AS earned
                  FROM points_entry GROUP BY account_id) t WHERE t.account_id = a.id""")
        timings["ledger"] = time.perf_counter() - started
        print(f"  (ledger generated in {timings['ledger']:.0f} s)", flush=True)
        started = time.perf_counter()
        cursor.execute("""
            INSERT INTO appointments_location (name, address, active) VALUES ('基准店', '', true);
            INSERT INTO visits_category (name, code) VALUES ('基准', 'bench');
            INSERT INTO visits_catalogueitem (kind, name, sku, category_id, price, duration_minutes, buffer_minutes,
                                              recall_days, active, online_booking_enabled, needs_clearance)
            SELECT 'treatment', '基准护理', 'BENCH', id, 500, 60, 0, NULL, true, false, false FROM visits_category;
            INSERT INTO appointments_practitioner (user_id, display_name, active)
            SELECT id, '基准医生', true FROM accounts_user WHERE username = 'owner';
            INSERT INTO appointments_workinghours (practitioner_id, location_id, weekday, starts, ends)
            SELECT p.id, l.id, d, '10:00', '19:00'
            FROM appointments_practitioner p, appointments_location l, generate_series(0, 6) d""")
        cursor.execute("""
            INSERT INTO appointments_booking (member_id, treatment_id, practitioner_id, location_id, room_id, device_id,
                                              starts_at, ends_at, blocked_until, status, channel, booked_by_id, notes,
                                              reschedule_count, cancelled_at, cancelled_by_id, cancelled_by_party,
                                              cancel_reason, late_cancellation, deposit_amount, deposit_method,
                                              deposit_recorded_at, deposit_recorded_by_id, visit_id, created_at,
                                              updated_at)
            SELECT (SELECT min(id) FROM members_member) + (n * 7919) %% %(members)s, i.id, p.id, l.id, NULL, NULL,
                   s, s + interval '1 hour', s + interval '1 hour',
                   CASE WHEN n %% 10 = 0 THEN 'cancelled' WHEN n %% 10 = 1 THEN 'no_show' ELSE 'completed' END,
                   'staff', NULL, '', 0, CASE WHEN n %% 10 = 0 THEN s - interval '1 day' END, NULL,
                   CASE WHEN n %% 10 = 0 THEN 'member' ELSE '' END, '', n %% 20 = 0, 0, '', NULL, NULL, NULL,
                   now(), now()
            FROM generate_series(1, %(bookings)s) n
            CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 10:00+08' + (n %% 1064) * interval '1 day'
                                       + (n / 1064 %% 9) * interval '1 hour' AS s) t,
                 (SELECT id FROM visits_catalogueitem LIMIT 1) i, (SELECT id FROM appointments_practitioner LIMIT 1) p,
                 (SELECT id FROM appointments_location LIMIT 1) l""", {"members": MEMBERS, "bookings": BOOKINGS})
        cursor.execute("""
            INSERT INTO tiers_membertier (member_id, tier_id, since, evaluated_at, below_since)
            SELECT m.id, t.id, timestamptz '2026-10-10 12:00+08', NULL, NULL
            FROM members_member m JOIN tiers_tier t ON t.rank = 1 + m.id % 3 WHERE m.id % 5 = 0;
            INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, kind, reason, metrics, actor_id,
                                          created_at)
            SELECT mt.member_id, NULL, mt.tier_id, 'upgrade', 'bench', '{}', NULL, mt.since FROM tiers_membertier mt;
            UPDATE members_member SET referred_by_id = id - 1, joined_on = date '2026-10-01' + (id % 31)::int
            WHERE id % 10 = 0 AND id > (SELECT min(id) FROM members_member)""")
        timings["bookings, tiers, referrals"] = time.perf_counter() - started
        started = time.perf_counter()
        _feedback(cursor)
        timings["surveys, answers, follow-ups"] = time.perf_counter() - started
    started = time.perf_counter()
    # The data went in with the triggers off: build the rollups from it, as after a bulk load.
    built = rollups_rebuild()
    timings[f"rollups ({built['member_days']:,} member days)"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in ("visits_visit", "visits_visitline", "visits_refund", "points_entry", "points_account",
                      "members_member", "appointments_booking", "tiers_membertier", "tiers_tierchange",
                      "feedback_survey", "feedback_surveyanswer", "feedback_followuptask",
                      # As autovacuum would soon after such a load (bench_segments does the same):
                      # the visibility map lets the panels read the rollups' indexes alone.
                      "insights_memberday", "insights_memberfirst", "insights_daytotal", "insights_pointsday"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return timings


def _feedback(cursor) -> None:
    """A survey for 60 % of the visits (a tenth of them not sent), an answer to half of those sent
    (scores 0-10 spread evenly, rated 1-5), a follow-up for every detractor (a quarter still open,
    the rest closed the next day), and a recall for every fifth member."""
    cursor.execute("""
        INSERT INTO feedback_survey (visit_id, member_id, practitioner_id, status, skip_reason, due_at, sent_at,
                                     message_id, created_at)
        SELECT v.id, v.member_id, p.id, CASE WHEN v.id % 10 = 5 THEN 'skipped' ELSE 'sent' END, '',
               v.visited_at + interval '1 day',
               CASE WHEN v.id % 10 = 5 THEN NULL ELSE v.visited_at + interval '1 day' END, NULL, now()
        FROM visits_visit v, (SELECT id FROM appointments_practitioner LIMIT 1) p WHERE v.id % 10 < 6;
        INSERT INTO feedback_surveyanswer (survey_id, member_id, practitioner_id, nps_score, practitioner_rating,
                                           comment, tags, answered_at, updated_at, edits)
        SELECT id, member_id, practitioner_id, (id * 7) % 11, 1 + id % 5, '', '[]', sent_at + interval '3 hours',
               sent_at + interval '3 hours', 0
        FROM feedback_survey WHERE status = 'sent' AND id % 2 = 0;
        -- What the trigger feedback_survey_answered does, off during this load.
        UPDATE feedback_survey s SET answered_at = a.answered_at FROM feedback_surveyanswer a WHERE a.survey_id = s.id;
        INSERT INTO feedback_followuptask (member_id, kind, status, due_at, first_due_at, assigned_to_id,
                                           practitioner_id, visit_id, treatment_id, answer_id, rule_id, booking_id,
                                           note, guard_key, created_by_id, created_at, closed_at)
        SELECT a.member_id, 'detractor', CASE WHEN a.id % 4 = 0 THEN 'open' ELSE 'done' END, a.answered_at,
               a.answered_at, NULL, a.practitioner_id, s.visit_id, NULL, a.id, NULL, NULL, '', 'detractor:' || s.id,
               NULL, a.answered_at, CASE WHEN a.id % 4 = 0 THEN NULL ELSE a.answered_at + interval '20 hours' END
        FROM feedback_surveyanswer a JOIN feedback_survey s ON s.id = a.survey_id WHERE a.nps_score <= 6;
        INSERT INTO feedback_followuptask (member_id, kind, status, due_at, first_due_at, assigned_to_id,
                                           practitioner_id, visit_id, treatment_id, answer_id, rule_id, booking_id,
                                           note, guard_key, created_by_id, created_at, closed_at)
        SELECT m.id, 'recall', 'open', t.at, t.at, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '',
               'recall:' || m.id, NULL, t.at, NULL
        FROM members_member m
        CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 10:00+08' + (m.id % 1064) * interval '1 day' AS at) t
        WHERE m.id % 5 = 0""")


# The anchors: the same figures as plain SQL, written the obvious way.
COUNTED = ("(v.total > v.refunded_total OR (v.total = 0 AND NOT EXISTS (SELECT 1 FROM visits_refund r "
           "WHERE r.visit_id = v.id AND NOT EXISTS (SELECT 1 FROM visits_visitline l WHERE l.visit_id = v.id "
           "AND l.refunded_quantity < l.quantity))))")
# The anchors in plain SQL: counted visits of a local period, members, history, lifecycle.
ANCHOR_SUMMARY = f"""
WITH cur AS (SELECT v.member_id, v.total - v.refunded_total AS net FROM visits_visit v
             WHERE (v.visited_at AT TIME ZONE '{TZ}')::date BETWEEN %(start)s AND %(end)s AND {COUNTED}),
     prev AS (SELECT DISTINCT v.member_id FROM visits_visit v
              WHERE (v.visited_at AT TIME ZONE '{TZ}')::date BETWEEN %(pstart)s AND %(pend)s AND {COUNTED}),
     hist AS (SELECT v.member_id, max((v.visited_at AT TIME ZONE '{TZ}')::date) AS last_day,
                     sum(v.total - v.refunded_total) AS spent
              FROM visits_visit v WHERE (v.visited_at AT TIME ZONE '{TZ}')::date <= %(end)s AND {COUNTED}
              GROUP BY v.member_id)
SELECT (SELECT count(*) FROM cur), (SELECT sum(net) FROM cur), (SELECT count(DISTINCT member_id) FROM cur),
       (SELECT count(*) FROM (SELECT member_id FROM cur GROUP BY member_id HAVING count(*) >= 2) x),
       (SELECT count(*) FROM prev), (SELECT count(*) FROM prev WHERE member_id IN (SELECT member_id FROM cur)),
       (SELECT count(*) FROM hist), (SELECT sum(spent) FROM hist),
       (SELECT count(*) FROM hist WHERE %(end)s - last_day <= 90),
       (SELECT count(*) FROM hist WHERE %(end)s - last_day > 180)
"""
# The same figures by hand-written SQL on the rollup tables (insights/rollups.py), grouping the
# member days the obvious way: what the figures cost on the rollups without Django,
# authentication and the serializer around them (the API counts rows by their previous and next
# days instead, docs/kpis.md#speed).
ROLLUP_SUMMARY = """
WITH cur AS (SELECT member_id, sum(visits) AS visits, sum(revenue) AS revenue FROM insights_memberday
             WHERE day BETWEEN %(start)s AND %(end)s GROUP BY member_id),
     prev AS (SELECT DISTINCT member_id FROM insights_memberday WHERE day BETWEEN %(pstart)s AND %(pend)s),
     recent AS (SELECT member_id, max(day) AS last_day FROM insights_memberday
                WHERE day > %(end)s - 181 AND day <= %(end)s GROUP BY member_id)
SELECT (SELECT sum(visits) FROM cur), (SELECT sum(revenue) FROM cur), (SELECT count(*) FROM cur),
       (SELECT count(*) FROM cur WHERE visits >= 2), (SELECT count(*) FROM prev),
       (SELECT count(*) FROM prev JOIN cur USING (member_id)),
       (SELECT count(*) FROM insights_memberfirst WHERE first_day <= %(end)s),
       (SELECT sum(revenue) FROM insights_daytotal WHERE day <= %(end)s),
       (SELECT count(*) FROM recent WHERE %(end)s - last_day <= 90),
       (SELECT count(*) FROM insights_memberfirst WHERE first_day <= %(end)s) - (SELECT count(*) FROM recent)
"""
ROLLUP_COHORTS = """
WITH firsts AS (SELECT member_id, date_trunc('month', first_day)::date AS cohort FROM insights_memberfirst
                WHERE first_day >= %(first)s AND first_day < %(last)s + interval '1 month'),
     active AS (SELECT DISTINCT md.member_id, date_trunc('month', md.day)::date AS month
                FROM insights_memberday md JOIN firsts f USING (member_id)
                WHERE md.day >= %(first)s AND md.day < %(last)s + interval '13 months')
SELECT f.cohort, (extract(year FROM age(a.month, f.cohort)) * 12 + extract(month FROM age(a.month, f.cohort)))::int,
       count(*)
FROM firsts f JOIN active a ON a.member_id = f.member_id
WHERE a.month <= f.cohort + interval '12 months'
GROUP BY 1, 2
"""
ROLLUP_RFM = """
WITH m AS (SELECT member_id, %(end)s - max(day) AS rec, sum(visits) AS freq FROM insights_memberday
           WHERE day > %(wstart)s AND day <= %(end)s GROUP BY member_id)
SELECT r, f, count(*) FROM (
    SELECT ceil(5.0 * count(*) OVER (ORDER BY rec DESC) / count(*) OVER ())::int AS r,
           ceil(5.0 * count(*) OVER (ORDER BY freq) / count(*) OVER ())::int AS f FROM m) s
GROUP BY r, f
"""
ANCHOR_POINTS = """
SELECT sum(amount) FILTER (WHERE kind IN ('earn', 'bonus', 'opening') OR (kind = 'adjust' AND amount > 0)),
       -sum(amount) FILTER (WHERE kind IN ('redeem', 'restore')), -sum(amount) FILTER (WHERE kind = 'expire'),
       (SELECT sum(amount) FROM points_entry WHERE effective_at < %(hi)s)
FROM points_entry WHERE effective_at >= %(lo)s AND effective_at < %(hi)s
"""
ROLLUP_POINTS = """
SELECT sum(amount) FILTER (WHERE kind IN ('earn', 'bonus', 'opening') OR (kind = 'adjust' AND credit)),
       -sum(amount) FILTER (WHERE kind IN ('redeem', 'restore')), -sum(amount) FILTER (WHERE kind = 'expire'),
       (SELECT sum(amount) FROM insights_pointsday WHERE day <= %(end)s)
FROM insights_pointsday WHERE day >= %(start)s AND day <= %(end)s
"""
ANCHOR_SERIES = f"""
SELECT (v.visited_at AT TIME ZONE '{TZ}')::date, count(*), sum(v.total - v.refunded_total), count(DISTINCT v.member_id)
FROM visits_visit v WHERE (v.visited_at AT TIME ZONE '{TZ}')::date BETWEEN %(start)s AND %(end)s AND {COUNTED}
GROUP BY 1 ORDER BY 1
"""
ANCHOR_COHORTS = f"""
WITH counted AS (SELECT v.member_id, date_trunc('month', v.visited_at AT TIME ZONE '{TZ}')::date AS month
                 FROM visits_visit v WHERE {COUNTED}),
     firsts AS (SELECT member_id, min(month) AS cohort FROM counted GROUP BY member_id),
     active AS (SELECT DISTINCT member_id, month FROM counted)
SELECT f.cohort, (extract(year FROM age(a.month, f.cohort)) * 12 + extract(month FROM age(a.month, f.cohort)))::int,
       count(*)
FROM firsts f JOIN active a ON a.member_id = f.member_id
WHERE f.cohort BETWEEN %(first)s AND %(last)s AND a.month <= f.cohort + interval '12 months'
GROUP BY 1, 2
"""
ANCHOR_RFM = f"""
WITH m AS (SELECT v.member_id, %(end)s - max((v.visited_at AT TIME ZONE '{TZ}')::date) AS rec, count(*) AS freq
           FROM visits_visit v
           WHERE (v.visited_at AT TIME ZONE '{TZ}')::date > %(wstart)s
             AND (v.visited_at AT TIME ZONE '{TZ}')::date <= %(end)s AND {COUNTED}
           GROUP BY v.member_id)
SELECT r, f, count(*) FROM (
    SELECT ceil(5.0 * count(*) OVER (ORDER BY rec DESC) / count(*) OVER ())::int AS r,
           ceil(5.0 * count(*) OVER (ORDER BY freq) / count(*) OVER ())::int AS f FROM m) s
GROUP BY r, f
"""
ANCHOR_APPOINTMENTS = """
SELECT count(*), count(*) FILTER (WHERE status = 'no_show'), count(*) FILTER (WHERE status = 'cancelled')
FROM appointments_booking WHERE starts_at >= %(lo)s AND starts_at < %(hi)s
"""
ANCHOR_TIERS = """
SELECT t.name, (SELECT count(*) FROM members_member m LEFT JOIN tiers_membertier mt ON mt.member_id = m.id
                WHERE m.status = 'active'
                  AND coalesce(mt.tier_id, (SELECT id FROM tiers_tier ORDER BY rank LIMIT 1)) = t.id)
FROM tiers_tier t ORDER BY t.rank
"""
ANCHOR_REFERRALS = """
SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM visits_visit v WHERE v.member_id = m.id
                                                AND v.visited_at < %(hi)s AND v.total > v.refunded_total))
FROM members_member m WHERE m.referred_by_id IS NOT NULL AND m.joined_on BETWEEN %(start)s AND %(end)s
"""

ANCHOR_SATISFACTION = """
SELECT (SELECT count(*) FROM feedback_surveyanswer WHERE answered_at >= %(lo)s AND answered_at < %(hi)s),
       (SELECT count(*) FROM feedback_surveyanswer WHERE answered_at >= %(lo)s AND answered_at < %(hi)s
                                                     AND nps_score >= 9),
       (SELECT count(*) FROM feedback_surveyanswer WHERE answered_at >= %(lo)s AND answered_at < %(hi)s
                                                     AND nps_score <= 6),
       (SELECT count(*) FROM feedback_survey WHERE status = 'sent' AND sent_at >= %(lo)s AND sent_at < %(hi)s),
       (SELECT count(*) FROM feedback_survey s JOIN feedback_surveyanswer a ON a.survey_id = s.id
        WHERE s.status = 'sent' AND s.sent_at >= %(lo)s AND s.sent_at < %(hi)s),
       (SELECT count(*) FROM feedback_followuptask WHERE kind = 'detractor' AND created_at < %(hi)s
                                                     AND (closed_at IS NULL OR closed_at >= %(hi)s))
"""
ANCHOR_CAMPAIGNS = """
SELECT count(*) FROM campaigns_campaignresult WHERE measured_until >= %(lo)s AND measured_until < %(hi)s
"""
ANCHOR_PACKAGES = """
SELECT (SELECT count(*) FROM packages_packagepurchase WHERE source = 'checkout'
        AND purchased_at >= %(lo)s AND purchased_at < %(hi)s),
       (SELECT coalesce(sum(amount), 0) / 100.0 FROM points_entry e JOIN points_account a ON a.id = e.account_id
        WHERE a.asset = 'stored_value_principal' AND e.kind = 'topup'
          AND e.effective_at >= %(lo)s AND e.effective_at < %(hi)s)
"""


def _timed(run) -> tuple[float, object]:
    timings, result = [], None
    run()
    for _ in range(RUNS):
        started = time.perf_counter()
        result = run()
        timings.append((time.perf_counter() - started) * 1000)
    return median(timings), result


def _sql(sql: str, params: dict):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    return run


def _api(client: Client, path: str, params: dict):
    def run():
        response = client.get(f"/api/v1/kpis/{path}/", params)
        assert response.status_code == 200, response.content
        return response.json()
    return run


def _bounds(start: str, end: str) -> dict:
    zone = ZoneInfo(TZ)
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return {"start": first, "end": last, "lo": datetime.combine(first, datetime.min.time(), zone),
            "hi": datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)}


def _check(name: str, ok: bool) -> None:
    if not ok:
        raise AssertionError(f"{name}: the API and the SQL anchor disagree")


def main() -> list[Figure]:
    clinic = fresh_clinic("benchinsights")
    try:
        started = time.perf_counter()
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            parts = _data()
            generated = time.perf_counter() - started
            client = Client(HTTP_HOST=clinic_host(clinic))
            client.force_login(User.objects.get(username="owner"))
            return [Figure(f"data: {MEMBERS:,} members, {VISITS:,} visits, {MEMBERS * ENTRIES_PER_ACCOUNT:,} "
                           f"entries, {BOOKINGS:,} bookings", generated,
                           note="generation time, " + ", ".join(f"{k} {v:.0f} s" for k, v in parts.items())),
                    *_measure(client)]
    finally:
        drop_clinic(clinic)


def _pair(name: str, target: float, api_run, anchor_run, agree, rollup_run=None) -> list[Figure]:
    """The API's median, the anchor's (the figures by hand-written SQL on the visits, the ledger...)
    and, where the API reads the rollups, the same SQL on the rollup tables; all must agree."""
    api_ms, api_result = _timed(api_run)
    anchor_ms, anchor_result = _timed(anchor_run)
    _check(name, agree(api_result, anchor_result))
    figures = [Figure(f"{name}, API", api_ms, unit="ms", target=target),
               Figure(f"  hand-written SQL anchor (ratio {api_ms / anchor_ms:.2f}x)", anchor_ms, unit="ms",
                      note="reference")]
    if rollup_run is not None:
        rollup_ms, rollup_result = _timed(rollup_run)
        _check(f"{name} (rollups)", agree(api_result, rollup_result))
        figures.append(Figure(f"  hand-written SQL on the rollups (ratio {api_ms / rollup_ms:.2f}x)", rollup_ms,
                              unit="ms", note="reference"))
    return figures


def _cohorts_agree(api, sql) -> bool:
    counts = {(month, k): n for month, k, n in sql}
    for cohort in api:
        month = date.fromisoformat(cohort["cohort"] + "-01")
        size = counts.get((month, 0), 0)
        if cohort["size"] != size:
            return False
        for k, value in enumerate(cohort["retention"], start=1):
            if value is not None and value != (round(counts.get((month, k), 0) / size, 6) if size else 0.0):
                return False
    return True


def _measure(client: Client) -> list[Figure]:
    figures = []
    month = _bounds(PERIOD["from"], PERIOD["to"])
    previous = _bounds("2026-08-31", "2026-09-30")
    year = _bounds(YEAR["from"], YEAR["to"])

    def summary_agrees(api, sql):
        row = sql[0]
        return (api["visits"], api["revenue"], api["active_members"], api["repeat_members"],
                api["previous_active_members"], api["retained_members"], api["members_with_visits"],
                api["revenue_to_date"], api["lifecycle"]["active"], api["lifecycle"]["lapsed"]) == (
                row[0], f"{row[1]:.2f}", row[2], row[3], row[4], row[5], row[6], f"{row[7]:.2f}", row[8], row[9])

    for label, bounds, params, prev in (("a month", month, PERIOD, previous),
                                        ("12 months", year, YEAR, _bounds("2024-11-01", "2025-10-31"))):
        figures += _pair(f"summary of {label} (all panels' headline figures)", TARGET_MS,
                         _api(client, "summary", params),
                         _sql(ANCHOR_SUMMARY, {**bounds, "pstart": prev["start"], "pend": prev["end"]}),
                         summary_agrees,
                         _sql(ROLLUP_SUMMARY, {**bounds, "pstart": prev["start"], "pend": prev["end"]}))
    figures += _pair("visits and revenue by day, a month", TARGET_MS, _api(client, "series", {**PERIOD, "unit": "day"}),
                     _sql(ANCHOR_SERIES, month),
                     lambda api, sql: [(p["visits"], p["revenue"]) for p in api["points"]]
                     == [(r[1], f"{r[2]:.2f}") for r in sql])
    figures += _pair("cohort matrix, 12 cohorts x 12 months", COHORT_TARGET_MS, _api(client, "cohorts", COHORTS),
                     _sql(ANCHOR_COHORTS, {"first": date(2025, 11, 1), "last": date(2026, 10, 1)}),
                     _cohorts_agree,
                     _sql(ROLLUP_COHORTS, {"first": date(2025, 11, 1), "last": date(2026, 10, 1)}))
    figures += _pair("RFM grid (12-month window)", TARGET_MS, _api(client, "rfm", PERIOD),
                     _sql(ANCHOR_RFM, {"end": month["end"], "wstart": date(2025, 10, 31)}),
                     lambda api, sql: {(c["recency"], c["frequency"]): c["members"] for c in api if c["members"]}
                     == {(r, f): n for r, f, n in sql},
                     _sql(ROLLUP_RFM, {"end": month["end"], "wstart": date(2025, 10, 31)}))
    figures += _pair("tiers", TARGET_MS, _api(client, "tiers", PERIOD), _sql(ANCHOR_TIERS, {}),
                     lambda api, sql: [t["members"] for t in api] == [n for _name, n in sql])
    figures += _pair("points", TARGET_MS, _api(client, "points", PERIOD), _sql(ANCHOR_POINTS, month),
                     lambda api, sql: (api["issued"], api["redeemed"], api["expired"], api["outstanding"])
                     == tuple(int(x or 0) for x in sql[0]),
                     _sql(ROLLUP_POINTS, month))
    figures += _pair("referrals", TARGET_MS, _api(client, "referrals", PERIOD), _sql(ANCHOR_REFERRALS, month),
                     lambda api, sql: (api["referred"], api["converted"]) == sql[0])
    figures += _pair("appointments", TARGET_MS, _api(client, "appointments", PERIOD),
                     _sql(ANCHOR_APPOINTMENTS, month),
                     lambda api, sql: (api["bookings"], api["no_shows"], api["cancelled"]) == sql[0])
    # The generated data has no campaigns, packages or cards: these time the panels' reads on empty
    # tables beside the full ledger (the campaigns and stored-value benchmarks measure them full).
    figures += _pair("campaigns (panel 12)", TARGET_MS, _api(client, "campaigns", PERIOD),
                     _sql(ANCHOR_CAMPAIGNS, month), lambda api, sql: api["measured"] == sql[0][0])
    figures += _pair("stored value and packages (panel 13)", TARGET_MS, _api(client, "stored-value", PERIOD),
                     _sql(ANCHOR_PACKAGES, month),
                     lambda api, sql: (api["packages"]["sold"], api["topped_up"]) == (sql[0][0], f"{sql[0][1]:.2f}"))
    figures += _pair("satisfaction", TARGET_MS, _api(client, "satisfaction", PERIOD),
                     _sql(ANCHOR_SATISFACTION, month),
                     lambda api, sql: (api["answers"], api["promoters"], api["detractors"], api["surveys_sent"],
                                       api["surveys_answered"], api["detractor_followups_open"]) == sql[0])
    return figures
