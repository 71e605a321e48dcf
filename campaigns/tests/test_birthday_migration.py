"""The migration that turns the birthday offer into a birthday campaign: the clinic's offer
becomes a running birthday campaign with the same settings, and a gift given before the
migration keeps counting — the member is not given this year's birthday offer again."""

from datetime import UTC, date, datetime, time, timedelta
from importlib import import_module

import time_machine
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from campaigns.models import Campaign, CampaignAudience, CampaignEvent, CampaignGrant
from campaigns.services import birthday_offers_grant
from points.ledger import BulkCredit, ledger_credit_many
from points.models import Entry
from points.selectors import ledger_verify, points_balance

migration = import_module("campaigns.migrations.0008_birthday_offer_to_campaign")


def at_local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def test_an_offer_and_a_grant_made_before_the_migration_carry_over(make_member):
    # Given a clinic as it was before: the provisioned birthday campaign is not there yet, the old
    # tables hold the offer (50 points, month timing) and this year's gift to one member
    installed = Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY)
    CampaignEvent.objects.filter(campaign__in=installed).delete()
    CampaignAudience.objects.filter(campaign__in=installed).delete()
    installed.delete()
    apps = MigrationLoader(connection).project_state(("campaigns", "0007_birthday_campaigns")).apps
    offer_model = apps.get_model("campaigns", "BirthdayOffer")
    grant_model = apps.get_model("campaigns", "BirthdayGrant")
    with connection.schema_editor() as editor:
        editor.create_model(offer_model)
        editor.create_model(grant_model)
    given = make_member("早已收到", birthday=date(1990, 6, 3))
    waiting = make_member("还没收到", birthday=date(1991, 6, 20))
    granted_at = at_local(date(2026, 6, 1), 9)
    entries = ledger_credit_many(
        credits=[BulkCredit(member_id=given.pk, amount=150, source_id="1", reason="Birthday gift 2026",
                            dedupe_key=f"birthday:2026:{given.pk}")],
        kind="bonus", source_type="birthday", at=granted_at, available_from=granted_at, expires_at=None)
    offer_model.objects.create(pk=1, enabled=True, timing="month", bonus_points=50, tier_gift=True,
                               send_message=True)
    grant_model.objects.create(member_id=given.pk, year=2026, celebrated_on=date(2026, 6, 1), granted_at=granted_at,
                               points=150, entry_id=entries["1"])

    # When the migration runs
    migration.forwards(apps, None)

    # Then the offer is a running birthday campaign with its settings, and the old grant is its grant
    campaign = Campaign.objects.get(schedule=Campaign.Schedule.BIRTHDAY)
    assert (campaign.status, campaign.birthday_timing, campaign.bonus_points, campaign.tier_gift,
            campaign.template_message, campaign.holdout_percent) == ("running", "month", 50, True, True, 0)
    carried = CampaignGrant.objects.get(campaign=campaign, member=given)
    assert (carried.birthday_year, carried.occurrence, carried.points, carried.entry_id) == (
        2026, date(2026, 6, 1), 150, entries["1"])
    # And the birthday job, run again on 1 June 2026 (the month's first day), gives only the other member
    Campaign.objects.filter(pk=campaign.pk).update(launched_at=granted_at - timedelta(days=1), send_time=time(0),
                                                   starts_on=date(2026, 5, 31))
    with time_machine.travel(granted_at + timedelta(hours=1), tick=False):
        counts = birthday_offers_grant(now=granted_at + timedelta(hours=1))
    assert counts["granted"] == 1
    assert set(CampaignGrant.objects.values_list("member_id", flat=True)) == {given.pk, waiting.pk}
    assert points_balance(given).balance == 150  # no second gift
    assert points_balance(waiting).balance == 150  # 50 + the Regular tier's 100
    assert Entry.objects.filter(source_type="birthday").count() == 2
    assert ledger_verify() == []
