"""Launching a campaign to 100,000 members: the launch (control group chosen and stored, 10 %
held out, stratified by tier) and the first occurrence (guard rows, bonus points through the
ledger, a coupon, an SMS each), compared with the plain SQL doing the same inserts in one
statement (no batches, no locks, no guard checks, no consent rules, no rendering), but with the
same database checks as the launch: the triggers on (the ledger's chain and balance bookkeeping)
and the deferred checks the launch pays at its commits (foreign keys, the ledger's balance check)
run before the anchor's roll-back (`SET CONSTRAINTS ALL IMMEDIATE`)."""

import os
import time
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django_tenants.utils import schema_context

from bench.bench_jobs import Rollback
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from campaigns.campaign_services import campaign_create, campaign_launch
from campaigns.models import CampaignGrant
from campaigns.running import campaign_occurrence_run
from messaging.models import Message
from messaging.services import messaging_settings_update
from points.coupons import coupon_template_create
from points.models import CouponTemplate

# BENCH_CAMPAIGNS_SCALE=0.01 runs the same at a hundredth of the volume, to try the benchmark out.
SCALE = float(os.environ.get("BENCH_CAMPAIGNS_SCALE", "1"))
MEMBERS = int(100_000 * SCALE)
TARGET_S = 60.0
MAX_RATIO = 3.0

_PLAIN_SQL = """
WITH audience AS (
    INSERT INTO campaigns_campaignaudience (campaign_id, member_id, "group", tier_id, added_at)
    SELECT %(campaign)s, m.id,
           CASE WHEN row_number() OVER (PARTITION BY mt.tier_id ORDER BY md5('1:' || m.id))
                     <= round(count(*) OVER (PARTITION BY mt.tier_id) * 0.1) THEN 'control' ELSE 'treated' END,
           mt.tier_id, %(now)s
    FROM members_member m LEFT JOIN tiers_membertier mt ON mt.member_id = m.id WHERE m.status = 'active'
    RETURNING member_id, "group"
),
treated AS (SELECT member_id FROM audience WHERE "group" = 'treated'),
guards AS (
    INSERT INTO campaigns_campaigngrant (campaign_id, occurrence, member_id, granted_at, offer, points,
                                         valid_from, valid_until, lunar)
    SELECT %(campaign)s, %(today)s, member_id, %(now)s, true, 0, %(now)s, %(now)s + interval '7 days', false
    FROM treated RETURNING member_id
),
accounts AS (
    INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
    SELECT member_id, 'points', 50, 50, 1, now() FROM guards RETURNING id, member_id
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, reason,
                              dedupe_key, effective_at, created_at)
    SELECT id, 'bonus', 50, 50, 'campaign', member_id::text, '会员日',
           'campaign:bench:' || member_id, %(now)s, now() FROM accounts
    RETURNING id, account_id
),
lots AS (
    INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at)
    SELECT account_id, id, 50, 50, %(now)s, NULL FROM entries
),
coupons AS (
    INSERT INTO points_coupon (code, template_id, member_id, status, source, issued_at, valid_from,
                               valid_until, dedupe_key)
    SELECT upper(substr(md5(random()::text || member_id), 1, 12)), %(template)s, member_id, 'issued',
           'campaign', %(now)s, %(now)s, %(now)s + interval '30 days', 'campaign:bench:' || member_id
    FROM guards
)
INSERT INTO messaging_message (member_id, recipient, channel, purpose, marketing, language, subject, body,
                               status, skip_reason, error, attempts, backend, provider_id, guard_key,
                               created_at, next_attempt_at)
SELECT m.id, m.phone, 'sms', 'marketing', true, 'zh-hans', '', m.name || '：会员日送您50积分 回复TD退订', 'queued',
       '', '', 0, '', '', 'campaign:bench:' || m.id, %(now)s, %(now)s
FROM guards g JOIN members_member m ON m.id = g.member_id
"""


def _consents() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO members_consentrecord (member_id, purpose, granted, channel, policy_version, recorded_at)
            SELECT id, 'marketing_sms', true, 'front_desk', 'v1', now() FROM members_member""")
        cursor.execute("ANALYZE members_member; ANALYZE members_consentrecord")


def _plain(params: dict) -> float:
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PLAIN_SQL, params)
            # What a commit would check: the deferred foreign keys and the ledger's balance check.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        return elapsed


def main() -> list[Figure]:
    clinic = fresh_clinic("benchcampaign")
    try:
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            # 10:00 in the clinic, outside quiet hours.
            now = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
            today = now.astimezone(clinic.zone).date()
            _consents()
            messaging_settings_update(actor=None, marketing_weekly_cap=5)
            template = coupon_template_create(name="会员日券", kind=CouponTemplate.Kind.FIXED,
                                              amount=Decimal("50.00"), valid_days=30)
            campaign = campaign_create(actor=None, name="会员日", starts_on=today, holdout_percent=10,
                                       bonus_points=50, coupon_template=template,
                                       messages={"sms": {"body": "{name}：{campaign}送您{points}积分"}})
            plain = _plain({"campaign": campaign.pk, "today": today, "now": now, "template": template.pk})
            started = time.perf_counter()
            campaign_launch(campaign=campaign, actor=None, now=now)
            launched = time.perf_counter() - started
            counts = campaign_occurrence_run(campaign=campaign, on=today, now=now)
            elapsed = time.perf_counter() - started
            treated = MEMBERS - round(MEMBERS * 0.1)
            assert counts["granted"] == counts["coupons"] == treated, counts
            assert counts["queued"] == {"sms": treated}, counts
            assert CampaignGrant.objects.count() == Message.objects.filter(purpose="marketing").count() == treated
        return [
            Figure(f"campaign launch to {MEMBERS:,} members: control group stored", launched, note="part of below"),
            Figure(f"campaign launch and first occurrence to {MEMBERS:,} members (points, coupon, SMS)", elapsed,
                   target=min(TARGET_S, plain * MAX_RATIO)),
            Figure("  the same inserts as one plain SQL statement, with the same checks", plain, note="reference"),
        ]
    finally:
        drop_clinic(clinic)
