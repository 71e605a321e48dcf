"""Every remaining condition kind against hand-built members (test_conditions.py has spend, visit
count, last and first visit, groups and negation). Who should match is written out by hand."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from appointments.schedule import location_create
from appointments.services import booking_check_in, booking_checkout, booking_create
from appointments.tests.conftest import hours_for, world  # noqa: F401  (the fixture)
from checkout.services import PaymentInput
from feedback.models import FollowUpTask
from members.services import consent_record, member_register
from points.adjustments import points_adjust
from points.models import LoyaltySettings
from segments.scoring import member_scores_refresh
from segments.tests.conftest import local
from segments.tests.test_conditions import one
from storedvalue.services import stored_value_top_up, top_up_plan_create
from tiers.models import Tier
from tiers.services import tier_set_manual


def test_tier_current_and_ever(make_member, owner, at):
    entry, silver, gold = Tier.objects.order_by("rank")[:3]
    plain, now_gold, was_gold = make_member("Plain"), make_member("NowGold"), make_member("WasGold")
    tier_set_manual(member=now_gold, tier=gold, actor=owner, reason="VIP")
    tier_set_manual(member=was_gold, tier=gold, actor=owner, reason="VIP")
    tier_set_manual(member=was_gold, tier=silver, actor=owner, reason="降级")
    later = local(2099, 1, 1)

    assert one("tier", later, tiers=[gold.pk]) == ["NowGold"]
    assert one("tier", later, tiers=[gold.pk], mode="ever") == ["NowGold", "WasGold"]
    assert one("tier", later, tiers=[entry.pk]) == ["Plain"]
    assert one("tier", later, tiers=[gold.pk], negate=True) == ["Plain", "WasGold"]
    assert plain.pk


def test_points_balance_range(make_member, owner, at):
    LoyaltySettings.objects.filter(pk=1).update(adjustment_approval_threshold=100000, signup_bonus=0)
    make_member("Zero")
    rich, some = make_member("Rich"), make_member("Some")
    points_adjust(member=rich, amount=5000, reason_code="goodwill", note="t", actor=owner)
    points_adjust(member=some, amount=200, reason_code="goodwill", note="t", actor=owner)

    assert one("points_balance", at, min=1000) == ["Rich"]
    assert one("points_balance", at, max=200) == ["Some", "Zero"]
    assert one("points_balance", at, min=100, max=300) == ["Some"]


def test_bought_items_categories_and_kind_in_a_window(make_member, catalogue, visit, at):
    laser, cream, old = make_member("Laser"), make_member("Cream"), make_member("Old")
    visit(laser, catalogue["ipl"], local(2026, 6, 1, 10))
    visit(cream, catalogue["cream"], local(2026, 6, 2, 10))
    visit(old, catalogue["peel"], local(2025, 1, 2, 10))

    assert one("bought", at, items=[catalogue["ipl"].pk]) == ["Laser"]
    assert one("bought", at, categories=[catalogue["lasers"].pk]) == ["Laser", "Old"]
    assert one("bought", at, categories=[catalogue["lasers"].pk], days=90) == ["Laser"]
    assert one("bought", at, item_kind="product") == ["Cream"]


def test_tags_gender_source_and_referral(make_member, at):
    referrer = make_member("Ref", gender="female", tags=["VIP", "玻尿酸"], source="wechat")
    make_member("Kid", gender="male", tags=["玻尿酸"], referral_code=referrer.referral_code)
    make_member("None", gender="other")

    assert one("tag", at, tags=["玻尿酸"]) == ["Kid", "Ref"]
    assert one("tag", at, tags=["vip", "玻尿酸"], match="all") == ["Ref"]
    assert one("tag", at, tags=["vip"], negate=True) == ["Kid", "None"]
    assert one("gender", at, genders=["female", "other"]) == ["None", "Ref"]
    assert one("source", at, sources=["wechat"]) == ["Ref"]
    assert one("referral", at, referred=True) == ["Kid"]
    assert one("referral", at, referred=False) == ["None", "Ref"]
    assert one("referral", at, referrers=[referrer.pk]) == ["Kid"]


def test_age_and_birthday_month_on_the_local_date(make_member, at):
    # `at` is 2026-06-15: born 2006-06-15 is 20 today, born 2006-06-16 is still 19.
    make_member("Twenty", birthday=date(2006, 6, 15))
    make_member("Nineteen", birthday=date(2006, 6, 16))
    make_member("Forty", birthday=date(1986, 1, 31))
    make_member("Unknown")

    assert one("age", at, min=20) == ["Forty", "Twenty"]
    assert one("age", at, max=19) == ["Nineteen"]
    assert one("age", at, min=20, max=39) == ["Twenty"]
    assert one("birthday_month", at, relative="current") == ["Nineteen", "Twenty"]
    assert one("birthday_month", at, relative="next") == []
    assert one("birthday_month", at, months=[1, 12]) == ["Forty"]
    assert one("birthday_month", at, months=[6], negate=True) == ["Forty", "Unknown"]


def test_joined_dates(make_member, at):
    make_member("Early", joined_on=date(2025, 1, 1))
    make_member("Recent", joined_on=date(2026, 6, 1))

    assert one("joined", at, on_or_after="2026-01-01") == ["Recent"]
    assert one("joined", at, on_or_before="2025-12-31") == ["Early"]
    assert one("joined", at, within_days=14) == ["Recent"]
    assert one("joined", at, within_days=13) == []


def test_consent_is_the_latest_record_by_the_evaluation_time(make_member, at):
    yes, withdrawn, never = make_member("Yes"), make_member("Withdrawn"), make_member("Never")
    consent_record(member=yes, purpose="marketing_sms", granted=True, channel="front_desk", actor=None,
                   at=local(2026, 1, 1))
    consent_record(member=withdrawn, purpose="marketing_sms", granted=True, channel="front_desk", actor=None,
                   at=local(2026, 1, 1))
    consent_record(member=withdrawn, purpose="marketing_sms", granted=False, channel="portal", actor=None,
                   at=local(2026, 3, 1))

    assert one("consent", at, purpose="marketing_sms") == ["Yes"]
    assert one("consent", local(2026, 2, 1), purpose="marketing_sms") == ["Withdrawn", "Yes"]
    assert one("consent", at, purpose="marketing_email") == []
    assert never.pk


def test_recall_due_from_open_recall_followups(make_member, at):
    due, later, done = make_member("Due"), make_member("Later"), make_member("Done")
    make_member("No recall")
    now = timezone.now()
    for member, due_at, status in ((due, local(2026, 6, 15, 18), "open"), (later, local(2026, 6, 20, 9), "open"),
                                   (done, local(2026, 6, 10, 9), "done")):
        FollowUpTask.objects.create(member=member, kind="recall", status=status, due_at=due_at, first_due_at=due_at,
                                    created_at=now, guard_key=f"recall:{member.pk}",
                                    closed_at=now if status == "done" else None)

    assert one("recall_due", at) == ["Due"]
    assert one("recall_due", at, within_days=5) == ["Due", "Later"]


def test_rfm_cells_scores_and_lifecycle_from_the_store(make_member, catalogue, visit, at):
    from segments.tests.test_scoring import END, EXPECTED, known  # noqa: F401

    members = {name: make_member(name) for name in "ABCDEFH"}
    for name, ago_list, item in (("A", (5, 20, 40, 100), "cream"), ("B", (100, 130, 160), "ipl"),
                                 ("C", (200, 220, 240, 260, 280), "cream"), ("D", (30,), "peel"),
                                 ("E", (300, 320), "ipl"), ("F", (400,), "ipl")):
        for ago in ago_list:
            day = END - timedelta(days=ago)
            visit(members[name], catalogue[item], local(day.year, day.month, day.day, 10))
    member_scores_refresh(end=END)

    assert one("rfm_cell", at, cells=["important_value", "important_keep"]) == ["B", "C"]
    assert one("rfm_score", at, r=[4, 5]) == ["A", "D"]
    assert one("rfm_score", at, f=[5], m=[3]) == ["C"]
    assert one("lifecycle", at, stages=["lapsed"]) == ["C", "E", "F"]
    assert one("lifecycle", at, stages=["new", "no_visit"]) == ["D", "H"]
    assert one("lifecycle", at, stages=["active", "dormant"], negate=True) == ["C", "D", "E", "F", "H"]
    assert {k: v[0] for k, v in EXPECTED.items()}["B"] == "dormant"


def test_location_most_visited(world, make_staff, owner):  # noqa: F811
    second = location_create(name="徐汇店", address="衡山路 2 号")
    for practitioner in (world.dr_a, world.dr_b):
        hours_for(practitioner, second)
    hours_for(world.dr_a, world.location)
    mostly_second = member_register(name="二店常客", phone="13700000001", actor=None)
    start = timezone.localtime(timezone.now()).replace(hour=10, minute=0, second=0, microsecond=0)

    def visit_at(member, location, days):
        starts = start - timedelta(days=days)
        while starts.weekday() >= 5:
            starts -= timedelta(days=1)
        booking = booking_create(member=member, treatment=world.facial, starts_at=starts, actor=owner,
                                 location=location, now=starts - timedelta(days=1))
        booking_check_in(booking=booking, actor=owner, now=starts)
        booking_checkout(booking=booking, actor=owner, at=starts + timedelta(hours=1),
                         payments=[PaymentInput(method="cash", amount=Decimal("300.00"))])

    visit_at(world.member, world.location, 10)
    visit_at(mostly_second, world.location, 20)
    visit_at(mostly_second, second, 30)
    visit_at(mostly_second, second, 40)
    now = timezone.now()

    assert one("location", now, locations=[second.pk]) == ["二店常客"]
    assert one("location", now, locations=[world.location.pk]) == ["张小美"]


def test_stored_value_balance_range(make_member, owner, at):
    make_member("NoCard")
    big, small = make_member("Big"), make_member("Small")
    plan = top_up_plan_create(actor=owner, name="充5000送500", pay_amount=Decimal("5000"),
                              bonus_amount=Decimal("500"))
    stored_value_top_up(member=big, actor=owner, plan=plan, method="cash")
    stored_value_top_up(member=small, actor=owner, paid=Decimal("300.50"), method="cash")
    later = timezone.now()

    # Paid-in plus bonus: 5,500.00 and 300.50; a member without a card has 0.
    assert one("stored_value_balance", later, min="5500") == ["Big"]
    assert one("stored_value_balance", later, min="5500.01") == []
    assert one("stored_value_balance", later, max="300.50") == ["NoCard", "Small"]
    assert one("stored_value_balance", later, min="0.01", max="1000") == ["Small"]
    assert one("stored_value_balance", later, min="300.51", negate=True) == ["NoCard", "Small"]
