"""Segments at 100,000 members and 1,000,000 visits: the count of realistic multi-condition
segments (`segments.selectors.segment_count`, the one query the editor's live count and the API
run), a page of their members, and the nightly store of RFM scores and lifecycle stages. Each count
is checked against a hand-written SQL query of the same conditions, timed in the same run as the
anchor."""

import os
import time
from datetime import datetime
from statistics import median
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django_tenants.utils import schema_context

from accounts.models import User
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from insights.rollups import rollups_rebuild
from segments.scoring import member_scores_refresh
from segments.selectors import segment_count, segment_members
from segments.services import segment_create
from visits.models import CatalogueItem, Category

# BENCH_SEGMENTS_SCALE=0.01 runs the same at a hundredth of the volume, to try the benchmark out.
SCALE = float(os.environ.get("BENCH_SEGMENTS_SCALE", "1"))
MEMBERS = int(100_000 * SCALE)
VISITS = int(1_000_000 * SCALE)
RUNS = 7
TARGET_MS = 300.0
TZ = ZoneInfo("Asia/Shanghai")
# Evaluated at this instant: three years of visits end just before it.
AT = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def _data() -> None:
    """Visits over three years (a member's share skewed, 3 % refunded in full), one line each of
    one of four treatments in two categories, tags on a fifth of the members, marketing SMS consent
    for 60 %, tiers for a fifth: set-based SQL with triggers off."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT setseed(0.23)")
        cursor.execute("""
            INSERT INTO visits_category (name, code) VALUES ('光电类', 'laser'), ('注射类', 'inject');
            INSERT INTO visits_catalogueitem (kind, name, sku, category_id, price, duration_minutes, buffer_minutes,
                                              recall_days, active, online_booking_enabled, needs_clearance)
            SELECT 'treatment', n, n, c.id, 800, 60, 0, NULL, true, false, false
            FROM (VALUES ('光子嫩肤', 'laser'), ('皮秒', 'laser'), ('玻尿酸', 'inject'),
                         ('肉毒素', 'inject')) v(n, code)
            JOIN visits_category c ON c.code = v.code""")
        cursor.execute("""
            INSERT INTO visits_visit (member_id, visited_at, staff_id, source, subtotal, line_discount, tier_discount,
                                      coupon_discount, points_used, points_discount, total, refunded_total,
                                      external_ref, created_at)
            SELECT member_id, at, NULL, 'checkout', total, 0, 0, 0, 0, 0, total,
                   CASE WHEN r < 0.03 THEN total ELSE 0 END, '', now()
            FROM (SELECT (SELECT min(id) FROM members_member)
                         + floor(power(random(), 1.6) * %(members)s)::int AS member_id,
                         timestamptz '2023-12-01 00:00+08' + random() * interval '1095 days' AS at,
                         round((50 + random() * 3000)::numeric, 2) AS total, random() AS r
                  FROM generate_series(1, %(visits)s)) g""", {"members": MEMBERS, "visits": VISITS})
        cursor.execute("""
            INSERT INTO visits_visitline (visit_id, item_id, name, category_id, quantity, unit_price, discount,
                                          line_total, refunded_quantity, points_earned)
            SELECT v.id, i.id, i.name, i.category_id, 1, v.total, 0, v.total,
                   CASE WHEN v.refunded_total = v.total THEN 1 ELSE 0 END, 0
            FROM visits_visit v
            JOIN (SELECT id, name, category_id, row_number() OVER (ORDER BY id) - 1 AS k
                  FROM visits_catalogueitem) i ON i.k = v.id % 4""")
        cursor.execute("""
            UPDATE members_member SET tags = CASE WHEN id % 10 = 0 THEN ARRAY['vip', '玻尿酸']
                                                 WHEN id % 10 = 5 THEN ARRAY['投诉'] END
            WHERE id % 5 = 0;
            INSERT INTO members_consentrecord (member_id, purpose, granted, channel, policy_version, recorded_at,
                                               recorded_by_id)
            SELECT id, 'marketing_sms', id % 5 < 3, 'front_desk', '2024-01', timestamptz '2024-01-01 10:00+08', NULL
            FROM members_member;
            INSERT INTO tiers_membertier (member_id, tier_id, since, evaluated_at, below_since)
            SELECT m.id, t.id, timestamptz '2026-10-10 12:00+08', NULL, NULL
            FROM members_member m JOIN tiers_tier t ON t.rank = 1 + m.id % 3 WHERE m.id % 5 = 0""")
    with connection.cursor() as cursor:
        for table in ("visits_visit", "visits_visitline", "members_member", "members_consentrecord",
                      "tiers_membertier"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# The anchor of the first segment: the same conditions written by hand.
ANCHOR = """
SELECT count(*) FROM members_member m
WHERE m.status = 'active'
  AND EXISTS (SELECT 1 FROM segments_memberscore s WHERE s.member_id = m.id AND s.lifecycle IN ('dormant', 'lapsed'))
  AND EXISTS (SELECT 1 FROM visits_visit v WHERE v.member_id = m.id AND v.visited_at >= %(since)s
              AND v.visited_at <= %(at)s AND v.total > v.refunded_total
              GROUP BY v.member_id HAVING sum(v.total - v.refunded_total) >= 3000)
  AND (SELECT c.granted FROM members_consentrecord c WHERE c.member_id = m.id AND c.purpose = 'marketing_sms'
       AND c.recorded_at <= %(at)s ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1)
  AND NOT (m.tags && ARRAY['投诉']::varchar[])
  AND m.birthday <= %(oldest)s AND m.birthday > %(youngest)s"""


def _timed(run) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return median(times), result


def _segments(owner: User) -> list:
    laser = Category.objects.get(code="laser")
    injectables = list(CatalogueItem.objects.filter(category__code="inject").values_list("pk", flat=True))
    return [
        segment_create(actor=owner, name="沉睡高消费可短信", conditions={"all": [
            {"kind": "lifecycle", "stages": ["dormant", "lapsed"]},
            {"kind": "spend", "min": "3000", "days": 730},
            {"kind": "consent", "purpose": "marketing_sms"},
            {"kind": "tag", "tags": ["投诉"], "negate": True},
            {"kind": "age", "min": 25, "max": 45}]}),
        segment_create(actor=owner, name="光电老客待复购", conditions={"all": [
            {"kind": "bought", "categories": [laser.pk], "days": 365},
            {"kind": "last_visit", "op": "more_than_days", "days": 60},
            {"any": [{"kind": "tag", "tags": ["vip"]}, {"kind": "visit_count", "min": 5, "days": 365},
                     {"kind": "bought", "items": injectables}]}]}),
        # Three aggregate conditions and nothing narrowing: counted in the grouped form.
        segment_create(actor=owner, name="高消费常客待回访", conditions={"all": [
            {"kind": "spend", "min": "1000", "days": 365},
            {"kind": "visit_count", "min": 2, "days": 365},
            {"kind": "last_visit", "op": "more_than_days", "days": 60}]}),
        segment_create(actor=owner, name="重要价值本月生日", conditions={"all": [
            {"kind": "rfm_cell", "cells": ["important_value", "important_keep"]},
            {"kind": "birthday_month", "relative": "current"},
            {"kind": "points_balance", "max": 100000}]}),
    ]


def main() -> list[Figure]:
    clinic = fresh_clinic("benchsegments")
    try:
        started = time.perf_counter()
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            _data()
            # The visits went in with triggers off: build the KPI rollups the RFM scores read, as
            # `manage.py insights_rollups --rebuild` does after such a load (docs/operations.md).
            rollups_rebuild()
            with connection.cursor() as cursor:
                # As autovacuum would soon after such a load: the visibility map lets the segments
                # read the rollups' indexes alone.
                for table in ("insights_memberday", "insights_memberfirst", "insights_memberbought"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
            generated = time.perf_counter() - started
            owner = User.objects.get(username="owner")
            started = time.perf_counter()
            scored = member_scores_refresh(end=AT.date())
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE segments_memberscore")
            scoring = time.perf_counter() - started
            figures = [Figure(f"data: {MEMBERS:,} members, {VISITS:,} visits with lines", generated,
                              note="generation time"),
                       Figure(f"nightly RFM and lifecycle store ({scored:,} members)", scoring, target=60.0)]
            segments = _segments(owner)
            for segment in segments:
                count_ms, count = _timed(lambda s=segment: segment_count(s, at=AT))
                figures.append(Figure(f"count: {segment.name} ({count:,} members)", count_ms, unit="ms",
                                      target=TARGET_MS))
            def page():
                return list(segment_members(segments[0], at=AT).order_by("member_number")[:50])

            page_ms, _page = _timed(page)
            figures.append(Figure("first page of 50 members", page_ms, unit="ms", target=TARGET_MS))
            params = {"at": AT, "since": datetime(2024, 12, 1, tzinfo=TZ),
                      "oldest": datetime(2001, 12, 1).date(), "youngest": datetime(1980, 12, 1).date()}

            def anchor():
                # On the same connection, so under the same settings as the segment queries (JIT
                # off, clinic_loyalty.database): the ratio compares the queries.
                with connection.cursor() as cursor:
                    cursor.execute(ANCHOR, params)
                    return cursor.fetchone()[0]

            anchor_ms, anchor_count = _timed(anchor)
            expected = segment_count(segments[0], at=AT)
            if anchor_count != expected:
                raise AssertionError(f"the anchor counts {anchor_count}, the segment {expected}")
            figures.append(Figure("  hand-written SQL anchor of the first count", anchor_ms, unit="ms",
                                  note="reference"))
            return figures
    finally:
        drop_clinic(clinic)
