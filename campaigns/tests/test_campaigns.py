"""Campaigns end to end through the services: launch (control group stored, stratified), offers
given exactly once (also when the job runs twice or a batch dies), the control group untouched,
consent, opt-out, quiet hours and the weekly cap, cancelling, and bad input that changes nothing."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.db.models import Count

from campaigns.campaign_services import campaign_cancel, campaign_update, marketing_sms_reply
from campaigns.models import Campaign, CampaignAudience, CampaignEvent, CampaignGrant, CampaignOccurrence
from campaigns.running import unsubscribe_member_id
from campaigns.selectors import campaign_given, campaign_preview, member_campaign_offers
from campaigns.tests.helpers import at_local, launch_at, make_campaign, run_at
from members.models import ConsentRecord
from members.selectors import consent_granted
from messaging.models import Message, Purpose
from messaging.services import Outgoing, messages_queue
from points.coupons import coupon_template_create
from points.models import Coupon, CouponTemplate, Entry
from points.selectors import ledger_verify, points_balance
from segments.services import segment_create
from tiers.models import Tier
from tiers.services import tier_set_manual

DAY = date(2026, 6, 8)


@pytest.fixture
def coupon(db) -> CouponTemplate:
    return coupon_template_create(name="会员日护理券", kind=CouponTemplate.Kind.FIXED, amount=Decimal("100.00"),
                                  valid_days=14)


@pytest.fixture
def members(make_member):
    return [make_member(f"会员{n}") for n in range(20)]


def sms(campaign: Campaign) -> dict:
    return {"sms": {"body": "【{clinic}】{name}，{campaign}：{points}积分已到账，有效期至{valid_until}。"}}


def launched(owner, **fields) -> Campaign:
    campaign = make_campaign(owner, starts_on=DAY, **fields)
    return launch_at(campaign, owner, at_local(DAY, 8))


def test_launch_stores_a_stratified_control_group_and_treated_members_get_everything_once(
        owner, members, coupon):
    gold = Tier.objects.order_by("rank")[1]
    for member in members[:10]:
        tier_set_manual(member=member, tier=gold, actor=owner, reason="test")
    campaign = launched(owner, holdout_percent=20, bonus_points=50, coupon_template=coupon,
                        messages={"sms": {"body": "{name}：{campaign}送您{points}积分"}})

    groups = dict(CampaignAudience.objects.filter(campaign=campaign, group="control")
                  .values_list("tier_id").annotate(n=Count("id")))
    assert sorted(groups.values()) == [2, 2]  # 20 % of each tier's 10 members
    control = set(campaign.audience.filter(group="control").values_list("member_id", flat=True))
    treated = set(campaign.audience.filter(group="treated").values_list("member_id", flat=True))
    assert len(control) == 4 and len(treated) == 16

    counts = run_at(at_local(DAY, 10))
    again = run_at(at_local(DAY, 15))

    assert counts["granted"] == 16 and again["granted"] == 0
    assert set(CampaignGrant.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == treated
    for member in members:
        balance = points_balance(member).balance
        if member.pk in control:
            assert balance == 0
            assert not Coupon.objects.filter(member=member).exists()
            assert not Message.objects.filter(member=member).exists()
        else:
            assert balance == 50
            assert Coupon.objects.get(member=member).source == Coupon.Source.CAMPAIGN
            message = Message.objects.get(member=member, purpose=Purpose.MARKETING)
            assert message.body.startswith(f"{member.name}：会员日送您50积分") and message.body.endswith("回复TD退订")
    assert Entry.objects.filter(source_type="campaign").count() == 16
    assert ledger_verify() == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED
    assert [e.kind for e in campaign.events.order_by("id")] == ["created", "launched", "occurrence", "finished"]
    one_treated = next(m for m in members if m.pk in treated)
    one_control = next(m for m in members if m.pk in control)
    offers = member_campaign_offers(member=one_treated, at=at_local(DAY, 12))
    assert [offer.campaign for offer in offers] == [campaign]
    assert member_campaign_offers(member=one_control, at=at_local(DAY, 12)) == []


def test_a_batch_that_dies_leaves_whole_batches_and_the_next_run_completes_exactly_once(owner, members):
    campaign = launched(owner, bonus_points=30, messages={"sms": {"body": "{campaign}"}})
    victim = sorted(m.pk for m in members)[12]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE FUNCTION campaign_test_die() RETURNS trigger AS $$
            BEGIN IF NEW.member_id = {victim} THEN RAISE EXCEPTION 'worker died'; END IF; RETURN NEW; END $$
            LANGUAGE plpgsql;
            CREATE TRIGGER campaign_test_die BEFORE INSERT ON campaigns_campaigngrant
            FOR EACH ROW EXECUTE FUNCTION campaign_test_die();""")
    # The third batch of 5 fails in the database, as a worker dying in it would: the batches before
    # it stay, the failed one leaves nothing.
    with pytest.raises(DatabaseError, match="worker died"):
        run_at(at_local(DAY, 10), batch_size=5)
    assert CampaignGrant.objects.filter(campaign=campaign).count() == 10  # two whole batches of 5
    assert Entry.objects.filter(source_type="campaign").count() == 10
    assert Message.objects.filter(purpose=Purpose.MARKETING).count() == 10
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER campaign_test_die ON campaigns_campaigngrant; DROP FUNCTION campaign_test_die();")

    run_at(at_local(DAY, 11), batch_size=5)
    run_at(at_local(DAY, 12), batch_size=5)

    assert CampaignGrant.objects.filter(campaign=campaign).count() == 20
    assert Entry.objects.filter(source_type="campaign").count() == 20
    assert Message.objects.filter(purpose=Purpose.MARKETING).count() == 20
    assert all(points_balance(m).balance == 30 for m in members)
    assert ledger_verify() == []


def test_consent_opt_out_and_weekly_cap_are_honoured_and_counted(owner, make_member):
    consenting = make_member("有同意")
    no_consent = make_member("无同意", consents=())
    replied_td = make_member("回复退订")
    capped = make_member("已满额")
    assert marketing_sms_reply(phone=replied_td.phone, text=" td ")
    assert not consent_granted(member=replied_td, purpose="marketing_sms")
    record = replied_td.consents.filter(purpose="marketing_sms").first()
    assert record.channel == ConsentRecord.Channel.SMS_REPLY and not record.granted
    messages_queue(purpose=Purpose.MARKETING, channel="sms", at=at_local(DAY - timedelta(days=2), 11),
                   outgoing=[Outgoing(member_id=capped.pk, guard_key=f"t{n}") for n in range(2)],
                   text=("", "earlier offer"))
    campaign = launched(owner, bonus_points=10, messages=sms(None))

    counts = run_at(at_local(DAY, 10))

    assert counts["granted"] == 4
    occurrence = CampaignOccurrence.objects.get(campaign=campaign)
    assert occurrence.counts["queued"] == {"sms": 1}
    assert occurrence.counts["skipped"] == {"sms": {"no_consent": 2, "weekly_cap": 1}}
    sent = Message.objects.filter(guard_key__startswith=f"campaign:{campaign.pk}:")
    assert {m.member_id: m.skip_reason for m in sent} == {
        consenting.pk: "", no_consent.pk: "no_consent", replied_td.pk: "no_consent", capped.pk: "weekly_cap"}
    # The offer does not depend on the message: everyone treated got the points.
    assert points_balance(no_consent).balance == 10


def test_quiet_hours_skip_the_message_but_not_the_offer(owner, make_member):
    member = make_member()
    campaign = launched(owner, bonus_points=10, send_time=time(22, 0), messages=sms(None))
    run_at(at_local(DAY, 22, 5))
    message = Message.objects.get(guard_key__startswith=f"campaign:{campaign.pk}:")
    assert message.skip_reason == Message.SkipReason.QUIET_HOURS
    assert points_balance(member).balance == 10


def test_email_carries_an_unsubscribe_link_recorded_as_withdrawn_consent(owner, make_member, staff_client):
    member = make_member(email="xiaomei@example.com")
    campaign = launched(owner, messages={"email": {"subject": "{campaign}", "body": "{name}您好"}})
    run_at(at_local(DAY, 10))
    message = Message.objects.get(guard_key__startswith=f"campaign:{campaign.pk}:")
    link = message.body.rsplit(" ", 1)[-1].rsplit("：", 1)[-1]
    path = "/u/" + link.split("/u/", 1)[1]
    token = path.strip("/").split("/")[-1]
    assert unsubscribe_member_id(token) == member.pk
    assert unsubscribe_member_id(token + "x") is None
    client = staff_client(owner)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    assert not consent_granted(member=member, purpose="marketing_email")
    assert member.consents.filter(purpose="marketing_email").first().channel == "unsubscribe_link"


def test_cancel_stops_unsent_messages_and_keeps_what_was_given(owner, members):
    campaign = launched(owner, bonus_points=20, messages=sms(None))
    run_at(at_local(DAY, 10))
    campaign.refresh_from_db()
    # Finished once its only occurrence ran: a finished campaign cannot be cancelled.
    with pytest.raises(ValidationError):
        campaign_cancel(campaign=campaign, actor=owner)

    member_day = launched(owner, name="每月会员日", schedule=Campaign.Schedule.MONTHLY, day=8,
                          ends_on=date(2026, 12, 31), bonus_points=20, validity_days=1, messages=sms(None))
    run_at(at_local(DAY, 10, 5))
    queued = Message.objects.filter(guard_key__startswith=f"campaign:{member_day.pk}:", status="queued").count()
    assert queued == 20
    campaign_cancel(campaign=member_day, actor=owner, reason="改期", now=at_local(DAY, 10, 30))
    member_day.refresh_from_db()
    assert member_day.status == Campaign.Status.CANCELLED
    mine = Message.objects.filter(guard_key__startswith=f"campaign:{member_day.pk}:")
    assert set(mine.values_list("status", "skip_reason")) == {("skipped", "cancelled")}
    assert campaign_given(member_day).points == 400
    run_at(at_local(date(2026, 7, 8), 10, 5))
    assert not CampaignGrant.objects.filter(campaign=member_day, occurrence=date(2026, 7, 8)).exists()
    event = member_day.events.get(kind=CampaignEvent.Kind.CANCELLED)
    assert (event.actor, event.detail["points_given"], event.detail["messages_stopped"]) == (owner, 400, 20)


def test_max_grants_and_points_budget_cap_a_recurring_campaign(owner, members):
    campaign = launched(owner, schedule=Campaign.Schedule.MONTHLY, day=8, ends_on=date(2026, 12, 31),
                        validity_days=1, bonus_points=10, budget_points=300, max_grants_per_member=1)
    run_at(at_local(DAY, 10))
    run_at(at_local(date(2026, 7, 8), 10))
    july = CampaignOccurrence.objects.get(campaign=campaign, on=date(2026, 7, 8)).counts
    assert july["max_grants"] == 20 and july["offers"] == 0
    assert campaign_given(campaign).points == 200


def test_points_budget_runs_out_mid_occurrence(owner, members):
    campaign = make_campaign(owner, starts_on=DAY, schedule=Campaign.Schedule.MONTHLY, day=8,
                             ends_on=date(2026, 12, 31), validity_days=1, bonus_points=10, budget_points=200,
                             max_grants_per_member=5)
    campaign = launch_at(campaign, owner, at_local(DAY, 8))
    run_at(at_local(DAY, 10))
    run_at(at_local(date(2026, 7, 8), 10))
    assert campaign_given(campaign).points == 200
    july = CampaignOccurrence.objects.get(campaign=campaign, on=date(2026, 7, 8)).counts
    assert july["budget_exhausted"] == 20


def test_tier_gated_offer_gives_lower_tiers_the_message_only(owner, members):
    gold = Tier.objects.order_by("rank")[1]
    tier_set_manual(member=members[0], tier=gold, actor=owner, reason="test")
    campaign = launched(owner, bonus_points=10, min_tier=gold, messages=sms(None))
    run_at(at_local(DAY, 10))
    assert points_balance(members[0]).balance == 10
    assert points_balance(members[1]).balance == 0
    assert CampaignGrant.objects.filter(campaign=campaign, offer=False).count() == 19
    assert Message.objects.filter(guard_key__startswith=f"campaign:{campaign.pk}:").count() == 20


def test_preview_counts_targeted_held_out_reachable_and_cost(owner, make_member, coupon):
    for n in range(10):
        make_member(f"会员{n}", consents=("marketing_sms",) if n < 6 else ())
    campaign = make_campaign(owner, starts_on=DAY, holdout_percent=10, bonus_points=100, coupon_template=coupon,
                             messages={"sms": {"body": "{campaign}"}, "email": {"body": "{campaign}"}})
    preview = campaign_preview(campaign, seed=7)
    assert (preview.targeted, preview.held_out, preview.treated) == (10, 1, 9)
    assert preview.points == 900 and preview.coupons == 9 and preview.coupon_value == Decimal("900.00")
    assert preview.reachable["email"] == 0 and preview.reachable["sms"] in (5, 6)
    # 900 points at ¥0.01, 9 coupons at ¥100, SMS at ¥0.05
    assert preview.estimated_cost == (Decimal("9.00") + Decimal("900.00")
                                      + Decimal("0.05") * preview.reachable["sms"]).quantize(Decimal("0.01"))


def nothing_launched(campaign: Campaign) -> None:
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.launched_at is None
    assert not CampaignAudience.objects.filter(campaign=campaign).exists()
    assert not CampaignEvent.objects.filter(campaign=campaign, kind="launched").exists()


def test_launching_to_an_empty_segment_is_refused(owner, members):
    nobody = segment_create(actor=owner, name="无人", conditions={"all": [{"kind": "tag", "tags": ["不存在"]}]})
    campaign = make_campaign(owner, starts_on=DAY, bonus_points=10, segment=nobody)
    with pytest.raises(ValidationError, match="No member"):
        launch_at(campaign, owner, at_local(DAY, 8))
    nothing_launched(campaign)


def test_a_segment_campaign_reaches_only_the_segment(owner, make_member):
    vips = [make_member(f"VIP{n}", tags=["vip"]) for n in range(3)]
    others = [make_member(f"普通{n}") for n in range(3)]
    segment = segment_create(actor=owner, name="VIP", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})
    campaign = launched(owner, bonus_points=10, segment=segment)
    run_at(at_local(DAY, 10))
    assert set(campaign.audience.values_list("member_id", flat=True)) == {m.pk for m in vips}
    assert [points_balance(m).balance for m in vips + others] == [10, 10, 10, 0, 0, 0]


def test_budget_exceeded_is_refused_at_launch(owner, members):
    campaign = make_campaign(owner, starts_on=DAY, bonus_points=100, budget_points=500)
    with pytest.raises(ValidationError) as error:
        launch_at(campaign, owner, at_local(DAY, 8))
    assert "2000" in str(error.value.message_dict["budget_points"])
    nothing_launched(campaign)


def test_overlapping_schedules_are_refused(owner, members):
    with pytest.raises(ValidationError) as error:
        make_campaign(owner, schedule=Campaign.Schedule.MONTHLY, day=8, ends_on=date(2026, 12, 31),
                      validity_days=40, bonus_points=1)
    assert "validity_days" in error.value.message_dict
    double = launched(owner, name="双倍积分", points_multiplier=Decimal("2"), validity_days=3)
    clash = make_campaign(owner, name="三倍积分", starts_on=DAY + timedelta(days=1),
                          points_multiplier=Decimal("3"), validity_days=3)
    with pytest.raises(ValidationError) as error:
        launch_at(clash, owner, at_local(DAY, 8))
    assert "双倍积分" in error.value.message_dict["points_multiplier"][0]
    nothing_launched(clash)
    assert double.status == Campaign.Status.SCHEDULED


def test_inactive_coupon_and_bad_text_and_changes_after_launch_are_refused(owner, members, coupon):
    coupon.active = False
    coupon.save()
    with pytest.raises(ValidationError) as error:
        make_campaign(owner, coupon_template=coupon)
    assert "coupon_template" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_campaign(owner, messages={"sms": {"body": "{birthday}"}})
    assert "messages.sms.body" in error.value.message_dict
    assert not Campaign.objects.exclude(schedule="birthday").exists()
    campaign = launched(owner, bonus_points=5)
    with pytest.raises(ValidationError):
        campaign_update(campaign=campaign, actor=owner, bonus_points=500)
    campaign.refresh_from_db()
    assert campaign.bonus_points == 5


def test_front_desk_cannot_create_or_launch(front_desk):
    with pytest.raises(PermissionDenied):
        make_campaign(front_desk)
    assert not Campaign.objects.exclude(schedule="birthday").exists()


def test_new_member_follow_up_reaches_members_seven_days_after_their_first_visit_once(owner, make_member):
    from checkout.services import LineInput, PaymentInput, checkout_complete
    from tiers.selectors import member_current_tier
    from visits.models import CatalogueItem
    from visits.services import catalogue_item_create, category_create

    item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                 category=category_create(name="产品", code="p"), price=Decimal("100.00"))
    first, later, never = make_member("首次"), make_member("后来"), make_member("未到店")
    for member, day in ((first, DAY), (later, DAY + timedelta(days=1))):
        due = Decimal(100) * (100 - member_current_tier(member).discount_percent) / 100
        checkout_complete(member=member, actor=owner, at=at_local(day, 15), lines=[LineInput(item_id=item.pk)],
                          payments=[PaymentInput("cash", due)])
    campaign = make_campaign(owner, name="新客回访", starts_on=DAY, schedule=Campaign.Schedule.AFTER_FIRST_VISIT,
                             trigger_days=7, ends_on=DAY + timedelta(days=60), bonus_points=30, validity_days=30)
    launch_at(campaign, owner, at_local(DAY, 8))

    run_at(at_local(DAY + timedelta(days=7), 10))
    assert set(CampaignGrant.objects.values_list("member_id", "occurrence")) == {(first.pk, DAY + timedelta(days=7))}
    run_at(at_local(DAY + timedelta(days=8), 10))
    run_at(at_local(DAY + timedelta(days=9), 10))
    assert set(CampaignGrant.objects.values_list("member_id", "occurrence")) == {
        (first.pk, DAY + timedelta(days=7)), (later.pk, DAY + timedelta(days=8))}
    assert [points_balance(m).balance for m in (never,)] == [0]
    assert Entry.objects.filter(source_type="campaign").count() == 2
