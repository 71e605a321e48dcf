"""The birthday offer becomes a birthday campaign: the clinic's `BirthdayOffer` turns into a campaign
with the schedule `birthday` (same timing, coupon, bonus points, tier gift and message; no control
group, as before), and every `BirthdayGrant` is carried over as that campaign's grant with its
birthday year, so the guard `campaign_birthday_once_a_year` keeps counting the gifts already given.
The points multiplier's uses learn their campaign and occurrence (a use may now come before the
occurrence's grant)."""

import datetime
import secrets
import zoneinfo

from django.db import connection, migrations

_MULTIPLIER_USES_SQL = """
UPDATE campaigns_campaignmultiplieruse u SET campaign_id = g.campaign_id, occurrence = g.occurrence
FROM campaigns_campaigngrant g WHERE g.id = u.grant_id
"""

_GRANTS_SQL = """
INSERT INTO campaigns_campaigngrant (campaign_id, occurrence, member_id, granted_at, offer, points, entry_id,
                                     coupon_id, valid_from, valid_until, birthday_year, lunar)
SELECT %s, g.celebrated_on, g.member_id, g.granted_at, true, g.points, g.entry_id, g.coupon_id,
       g.granted_at, g.granted_at + make_interval(days => %s), g.year, g.lunar
FROM campaigns_birthdaygrant g
"""

_AUDIENCE_SQL = """
INSERT INTO campaigns_campaignaudience (campaign_id, member_id, "group", tier_id, added_at)
SELECT %s, m.id, 'treated', mt.tier_id, %s
FROM members_member m LEFT JOIN tiers_membertier mt ON mt.member_id = m.id
WHERE m.status = 'active' OR m.id IN (SELECT member_id FROM campaigns_birthdaygrant)
ON CONFLICT (campaign_id, member_id) DO NOTHING
"""


def _clinic(apps):
    Clinic = apps.get_model("clinics", "Clinic")
    return Clinic.objects.filter(schema_name=getattr(connection, "schema_name", "")).first()


def forwards(apps, schema_editor):
    BirthdayOffer = apps.get_model("campaigns", "BirthdayOffer")
    BirthdayGrant = apps.get_model("campaigns", "BirthdayGrant")
    Campaign = apps.get_model("campaigns", "Campaign")
    CampaignEvent = apps.get_model("campaigns", "CampaignEvent")
    with connection.cursor() as cursor:
        cursor.execute(_MULTIPLIER_USES_SQL)
    offer = BirthdayOffer.objects.filter(pk=1).first()
    if offer is None and not BirthdayGrant.objects.exists():
        return  # a schema being made: provisioning installs the birthday campaign
    clinic = _clinic(apps)
    zone = zoneinfo.ZoneInfo(getattr(clinic, "time_zone", "") or "Asia/Shanghai")
    language = getattr(clinic, "language", "zh-hans") or "zh-hans"
    now = datetime.datetime.now(datetime.UTC)
    today = now.astimezone(zone).date()
    enabled = offer.enabled if offer else True
    timing = offer.timing if offer else "day"
    validity = 30 if timing == "month" else 7
    campaign = Campaign.objects.create(
        name="生日礼遇" if language.startswith("zh") else "Birthday offer", kind="birthday",
        status="running" if enabled else "cancelled", schedule="birthday", starts_on=today, ends_on=None,
        send_time=datetime.time(9, 0), birthday_timing=timing, validity_days=validity,
        bonus_points=offer.bonus_points if offer else 0,
        coupon_template_id=offer.coupon_template_id if offer else None,
        tier_gift=offer.tier_gift if offer else True, template_message=offer.send_message if offer else True,
        holdout_percent=0, max_grants_per_member=100, created_at=now, launched_at=now if enabled else None,
        seed=secrets.randbits(62))
    CampaignEvent.objects.create(campaign=campaign, kind="created", at=now,
                                 detail={"from": "birthday offer", "enabled": enabled})
    with connection.cursor() as cursor:
        cursor.execute(_GRANTS_SQL, [campaign.pk, validity])
        carried = cursor.rowcount
        cursor.execute(_AUDIENCE_SQL, [campaign.pk, now])
    if enabled:
        CampaignEvent.objects.create(campaign=campaign, kind="launched", at=now,
                                     detail={"from": "birthday offer", "grants_carried_over": carried})
    else:
        CampaignEvent.objects.create(campaign=campaign, kind="cancelled", at=now,
                                     detail={"reason": "The birthday offer was switched off.",
                                             "grants_carried_over": carried})


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0007_birthday_campaigns"),
        ("clinics", "0003_append_only_function"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
