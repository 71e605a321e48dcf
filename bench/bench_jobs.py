"""The nightly and morning jobs at volume: point expiry of 1,000,000 lots, and birthday offers
(the birthday campaign) for 100,000 members. Each is compared with the plain SQL doing the same writes in one
transaction with the ledger's triggers switched off (no batching, no locks, no guard checks):
what the safety costs."""

import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from campaigns.services import birthday_campaign, birthday_offer_update, birthday_offers_grant
from messaging.services import messaging_settings_update
from points.coupons import coupon_template_create
from points.ledger import lots_expire
from points.models import CouponTemplate

EXPIRY_MEMBERS = 100_000
LOTS_PER_MEMBER = 10
BIRTHDAY_MEMBERS = 100_000
TARGET_S = 60.0


class Rollback(Exception):
    pass


def _timed_and_rolled_back(sql: str, params: dict) -> float:
    """Run `sql` in a transaction with triggers off, time it, and roll it back."""
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        return elapsed


def _expiry_data(now: datetime) -> None:
    """Every member an account with 10 lots of 10 points, all expired an hour ago, each lot with
    its earn entry (balance chain 10, 20, … 100). Triggers are off while loading."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("""
            INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
            SELECT id, 'points', %(per)s * 10, %(per)s * 10, %(per)s, now() FROM members_member""",
                       {"per": LOTS_PER_MEMBER})
        cursor.execute("""
            WITH e AS (
                INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                                          reason, effective_at, created_at)
                SELECT a.id, 'earn', 10, 10 * n, 'bench', '', '', %(earned)s, now()
                FROM points_account a CROSS JOIN generate_series(1, %(per)s) AS n
                ORDER BY a.id, n
                RETURNING id, account_id
            )
            INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at)
            SELECT account_id, id, 10, 10, %(earned)s, %(expired)s FROM e""",
                       {"per": LOTS_PER_MEMBER, "earned": now - timedelta(days=800),
                        "expired": now - timedelta(hours=1)})
        cursor.execute("ANALYZE points_account; ANALYZE points_entry; ANALYZE points_lot")


_PLAIN_EXPIRY_SQL = """
WITH due AS (
    SELECT id, account_id, remaining FROM points_lot
    WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= %(now)s
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                              reason, dedupe_key, effective_at, created_at)
    SELECT account_id, 'expire', -remaining, 0, 'lot', id::text, '', 'expire:lot:' || id, %(now)s, now()
    FROM due
    RETURNING id, source_id, amount
),
allocations AS (
    INSERT INTO points_allocation (entry_id, lot_id, amount) SELECT id, source_id::bigint, -amount FROM entries
),
emptied AS (UPDATE points_lot l SET remaining = 0 FROM due WHERE l.id = due.id)
UPDATE points_account a SET balance = a.balance - t.total
FROM (SELECT account_id, SUM(remaining) AS total FROM due GROUP BY account_id) t WHERE a.id = t.account_id
"""


def expiry_figures() -> list[Figure]:
    clinic = fresh_clinic("benchexpiry")
    try:
        members_fill(clinic, EXPIRY_MEMBERS)
        with schema_context(clinic.schema_name):
            now = timezone.now()
            _expiry_data(now)
            plain = _timed_and_rolled_back(_PLAIN_EXPIRY_SQL, {"now": now})
            started = time.perf_counter()
            expired = lots_expire(now=now)
            elapsed = time.perf_counter() - started
            assert expired == EXPIRY_MEMBERS * LOTS_PER_MEMBER, expired
        return [
            Figure(f"point expiry of {expired:,} lots (job: batches, locks, triggers)", elapsed,
                   target=TARGET_S),
            Figure("  the same writes as one plain SQL statement, triggers off", plain,
                   note="reference"),
        ]
    finally:
        drop_clinic(clinic)


def _birthday_data(today) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET birthday = make_date(1990, %(m)s, %(d)s)",
                       {"m": today.month, "d": today.day})
        cursor.execute("""
            INSERT INTO members_consentrecord (member_id, purpose, granted, channel, policy_version,
                                               recorded_at)
            SELECT id, 'marketing_sms', true, 'front_desk', 'v1', now() FROM members_member""")
        cursor.execute("ANALYZE members_member; ANALYZE members_consentrecord")


_PLAIN_BIRTHDAY_SQL = """
WITH born AS (
    SELECT id FROM members_member
    WHERE status = 'active' AND EXTRACT(month FROM birthday) = %(m)s AND EXTRACT(day FROM birthday) = %(d)s
),
guards AS (
    INSERT INTO campaigns_campaigngrant (campaign_id, occurrence, member_id, granted_at, offer, points,
                                         valid_from, valid_until, birthday_year, lunar)
    SELECT %(campaign)s, %(today)s, id, %(now)s, true, 0, %(now)s, %(now)s + interval '7 days', %(year)s, false
    FROM born RETURNING member_id
),
accounts AS (
    INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
    SELECT member_id, 'points', 150, 150, 1, now() FROM guards RETURNING id, member_id
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, reason,
                              dedupe_key, effective_at, created_at)
    SELECT id, 'bonus', 150, 150, 'birthday', member_id::text, 'Birthday gift',
           'birthday:' || %(year)s || ':' || member_id, %(now)s, now() FROM accounts
    RETURNING id, account_id
),
lots AS (
    INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at)
    SELECT account_id, id, 150, 150, %(now)s, NULL FROM entries
),
coupons AS (
    INSERT INTO points_coupon (code, template_id, member_id, status, source, issued_at, valid_from,
                               valid_until, dedupe_key)
    SELECT upper(substr(md5(random()::text || member_id), 1, 12)), %(template)s, member_id, 'issued',
           'birthday', %(now)s, %(now)s, %(now)s + interval '30 days', 'birthday:' || %(year)s || ':' || member_id
    FROM guards
)
INSERT INTO messaging_message (member_id, recipient, channel, purpose, marketing, language, subject, body,
                               status, skip_reason, error, attempts, backend, provider_id, guard_key,
                               created_at, next_attempt_at)
SELECT m.id, m.phone, 'sms', 'birthday_offer', true, 'zh-hans', '', '生日快乐 ' || m.name, 'queued', '', '',
       0, '', '', 'birthday:' || %(year)s || ':' || m.id, %(now)s, %(now)s
FROM guards g JOIN members_member m ON m.id = g.member_id
"""


def birthday_figures() -> list[Figure]:
    clinic = fresh_clinic("benchbirthday")
    try:
        members_fill(clinic, BIRTHDAY_MEMBERS)
        with schema_context(clinic.schema_name):
            # The next 10:00 in the clinic (outside quiet hours), after the birthday campaign was
            # launched with the clinic: a run at 10:00 of a day that began before the launch gives
            # nothing (as after 16:00 UTC, when Shanghai's day has turned).
            local_now = datetime.now(clinic.zone)
            run_day = local_now.date() + timedelta(days=0 if local_now.hour < 10 else 1)
            now = datetime.combine(run_day, dt_time(10), tzinfo=clinic.zone).astimezone(UTC)
            today = run_day
            _birthday_data(today)
            template = coupon_template_create(name="生日券", kind=CouponTemplate.Kind.FIXED,
                                              amount=Decimal("100.00"), valid_days=30)
            birthday_offer_update(actor=None, bonus_points=50, coupon_template=template)
            messaging_settings_update(actor=None, marketing_weekly_cap=5)
            plain = _timed_and_rolled_back(_PLAIN_BIRTHDAY_SQL, {
                "m": today.month, "d": today.day, "year": today.year, "today": today, "now": now,
                "template": template.pk, "campaign": birthday_campaign().pk})
            started = time.perf_counter()
            counts = birthday_offers_grant(now=now)
            elapsed = time.perf_counter() - started
            assert counts["granted"] == counts["coupons"] == counts["messages_queued"] == BIRTHDAY_MEMBERS, counts
        return [
            Figure(f"birthday offers for {BIRTHDAY_MEMBERS:,} members (points, coupon, message)", elapsed,
                   target=TARGET_S),
            Figure("  the same writes as one plain SQL statement, triggers off", plain, note="reference"),
        ]
    finally:
        drop_clinic(clinic)


def main() -> list[Figure]:
    return expiry_figures() + birthday_figures()
