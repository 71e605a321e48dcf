import random
import re
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from appointments.models import Booking, BookingEvent, Location, Practitioner, Resource, ResourceType, WorkingHours
from clinics.context import clinic_host, local_midnight
from clinics.models import Clinic
from clinics.platform.demo import (
    DEMO_CATALOGUE,
    DEMO_CLINIC_NAME,
    DEMO_CLINIC_SLUG,
    DEMO_PASSWORD,
    OPERATOR_USERNAME,
    _demo_member_visits,
    demo_portal_member,
    demo_seed,
)
from feedback.models import FollowUpTask, SurveyAnswer
from feedback.selectors import member_open_surveys, nps
from insights.models import CustomerValueFit
from insights.params import preset_period
from insights.selectors import Scope, kpi_satisfaction
from members.models import Member
from members.naming import has_cjk
from messaging.models import Message
from points.models import Entry, Redemption, Reward
from points.rules import local_date
from points.selectors import ledger_verify, reward_list, reward_offers
from portal.auth import COOKIE_NAME, member_session_create
from visits.models import CatalogueItem, Refund, Visit


def schedule_counts() -> dict[str, int]:
    with schema_context(DEMO_CLINIC_SLUG):
        return {"locations": Location.objects.count(), "resources": Resource.objects.count(),
                "practitioners": Practitioner.objects.count(), "hours": WorkingHours.objects.count(),
                "bookings": Booking.objects.count()}


def test_demo_seed_makes_a_schedule_with_bookings_for_today_and_the_week(db):
    demo_seed(members=20)
    with schema_context(DEMO_CLINIC_SLUG):
        assert Location.objects.count() == 1
        assert Resource.objects.filter(resource_type__kind=ResourceType.Kind.DEVICE).count() == 1
        assert Resource.objects.filter(resource_type__kind=ResourceType.Kind.ROOM).count() == 3
        practitioners = Practitioner.objects.select_related("user")
        assert {p.user.username for p in practitioners} == {"practitioner", "practitioner2", "practitioner3"}
        assert all(p.hours.exists() and p.treatments.exists() for p in practitioners)
        laser = CatalogueItem.objects.get(sku="LSR-02")
        assert set(laser.resource_requirements.values_list("kind", flat=True)) == {"room", "device"}
        today = local_date(timezone.now())
        days = {local_date(b.starts_at) for b in Booking.objects.all()}
        assert today in days and max(days) > today
        assert all(day < today + timedelta(days=7) for day in days)  # past ones: demo_history_seed
        assert Booking.objects.filter(status=Booking.Status.CHECKED_IN).count() == 1
        assert Booking.objects.filter(status=Booking.Status.CONFIRMED).exists()
        assert Booking.objects.filter(status=Booking.Status.BOOKED).exists()
        assert BookingEvent.objects.filter(kind=BookingEvent.Kind.BOOKED).count() == Booking.objects.count()
        assert all(b.room_id for b in Booking.objects.all())
        assert all(b.device_id for b in Booking.objects.filter(treatment__category__code="laser"))


def test_demo_schedule_seeded_again_adds_no_duplicates(db):
    demo_seed(members=10)
    before = schedule_counts()

    demo_seed(members=10)

    assert schedule_counts() == before and before["bookings"] > 0


def demo_roles() -> dict[str, Role | None]:
    with schema_context(DEMO_CLINIC_SLUG):
        return {user.username: user.role for user in User.objects.all()}


def test_demo_seed_makes_an_operator_the_demo_clinic_and_one_account_per_role(db):
    clinic, created = demo_seed(members=12)

    assert created
    assert (clinic.schema_name, clinic.name) == (DEMO_CLINIC_SLUG, DEMO_CLINIC_NAME)
    with schema_context("public"):
        operator = User.objects.get(username=OPERATOR_USERNAME)
        assert operator.is_staff
        assert operator.check_password(DEMO_PASSWORD)
    assert demo_roles() == {"owner": Role.OWNER, "manager": Role.MANAGER,
                            "frontdesk": Role.FRONT_DESK, "practitioner": Role.PRACTITIONER,
                            "practitioner2": Role.PRACTITIONER, "practitioner3": Role.PRACTITIONER}
    with schema_context(DEMO_CLINIC_SLUG):
        assert all(user.check_password(DEMO_PASSWORD) for user in User.objects.all())
        members = Member.objects.all()
        assert members.count() == 12
        assert all(m.phone.startswith("+861") and m.birthday and has_cjk(m.name) for m in members)
        assert Visit.objects.exists()
        # every paid visit earns once; package sessions were paid for when the package was sold, so a
        # visit using one costs nothing and may earn nothing
        earned = list(Entry.objects.filter(kind=Entry.Kind.EARN, source_type="visit")
                      .values_list("source_id", flat=True))
        assert earned and len(earned) == len(set(earned))
        assert not Visit.objects.filter(total__gt=0).exclude(pk__in=[int(pk) for pk in earned]).exists()
        assert ledger_verify() == []


def test_demo_seed_again_keeps_what_is_there(db):
    clinic, _created = demo_seed(members=3)
    with schema_context(DEMO_CLINIC_SLUG):
        owner = User.objects.get(username="owner")
        owner.set_password("Changed-by-hand-7")
        owner.save()
        User.objects.filter(username="manager").delete()
        members = Member.objects.count()

    again, created = demo_seed(members=3)

    assert not created
    assert again.pk == clinic.pk
    assert set(demo_roles()) == {"owner", "manager", "frontdesk", "practitioner", "practitioner2", "practitioner3"}
    with schema_context(DEMO_CLINIC_SLUG):
        assert User.objects.get(username="owner").check_password("Changed-by-hand-7")
        assert Member.objects.count() == members
        assert Practitioner.objects.filter(user__username="practitioner").exists()


def test_seed_demo_prints_where_to_log_in(db):
    out = StringIO()

    call_command("seed_demo", members=2, stdout=out)

    printed = out.getvalue()
    assert "http://demo.localhost/" in printed
    assert DEMO_PASSWORD in printed
    for username in (OPERATOR_USERNAME, "owner", "manager", "frontdesk", "practitioner"):
        assert f"    {username} " in printed


def test_a_demo_member_signs_in_to_the_portal_with_the_code_from_the_message_log(db):
    out = StringIO()
    call_command("seed_demo", members=2, stdout=out)
    with schema_context(DEMO_CLINIC_SLUG):
        member = Member.objects.order_by("pk").first()
    assert "http://demo.localhost/m/" in out.getvalue()
    assert member.name in out.getvalue()
    client = Client(HTTP_HOST=clinic_host(Clinic.objects.get(schema_name=DEMO_CLINIC_SLUG)))
    verify = client.post("/m/signin/", {"phone": member.phone})["Location"]
    with schema_context(DEMO_CLINIC_SLUG):
        body = Message.objects.filter(member=member, purpose="sign_in_code").latest("created_at", "id").body
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
    assert client.post(verify, {"code": code})["Location"] == "/m/"
    assert client.get("/m/").status_code == 200


def test_demo_seed_offers_rewards_members_can_redeem_in_the_portal_once(db):
    demo_seed(members=10)
    demo_seed(members=10)
    with schema_context(DEMO_CLINIC_SLUG):
        assert Reward.objects.count() == 3
        member = Member.objects.order_by("pk").first()
        offers = reward_offers(member=member, rewards=reward_list(), by_member=True)
        coupons = [offer for offer in offers if offer.reward.kind == Reward.Kind.COUPON]
        assert len(coupons) == 2
        assert all(offer.can_redeem or "Not enough points" in offer.refusal for offer in coupons)
        assert "front desk" in next(o for o in offers if o.reward.kind == Reward.Kind.PRODUCT).refusal
def test_demo_seed_gives_the_insights_panels_refunds_redemptions_and_past_appointments(db):
    demo_seed(members=60)
    with schema_context(DEMO_CLINIC_SLUG):
        now = timezone.now()
        past = Booking.objects.filter(starts_at__lt=now)

        assert Refund.objects.count() >= 5
        assert Visit.objects.filter(total__gt=0, refunded_total=F("total")).exists()
        assert Redemption.objects.exists()
        assert past.filter(status="completed", visit__isnull=False).count() >= 10
        assert past.filter(status__in=["no_show", "cancelled"]).exists()
        assert ledger_verify() == []
        # 60 members are too few for the predictive CLV: the fit is there and says why
        fit = CustomerValueFit.objects.get()
        assert fit.status == "not_enough_history" and fit.reason[0]["code"] == "repeat_members"
def test_demo_seed_has_survey_answers_over_the_year_and_open_follow_ups(db):
    demo_seed(members=40)
    with schema_context(DEMO_CLINIC_SLUG):
        answers = SurveyAnswer.objects.all()
        assert answers.count() >= 10
        assert answers.filter(nps_score__lte=6).exists() and answers.filter(nps_score__gte=9).exists()
        first, last = min(a.answered_at for a in answers), max(a.answered_at for a in answers)
        assert last - first > timedelta(days=180)
        assert FollowUpTask.objects.filter(status="open").exists()
        detractor_tasks = FollowUpTask.objects.filter(kind="detractor")
        assert detractor_tasks.count() == answers.filter(nps_score__lte=6).count()
        assert detractor_tasks.filter(status="done").exists()
        now = timezone.now()
        assert nps(start=now - timedelta(days=400), end=now).score is not None


def test_the_demo_portal_member_has_a_survey_waiting_in_the_portal(db):
    clinic, _created = demo_seed(members=20)
    member = demo_portal_member(clinic)
    with schema_context(DEMO_CLINIC_SLUG):
        waiting = [row.survey for row in member_open_surveys(member=member).waiting]
        assert waiting and not SurveyAnswer.objects.filter(survey__in=waiting).exists()
        assert timezone.now() - waiting[0].sent_at < timedelta(days=2)
        client = Client(HTTP_HOST=clinic_host(clinic))
        session_token = member_session_create(member=member, user_agent="tests")[1]
        client.cookies[COOKIE_NAME] = session_token
        home = client.get("/m/").content.decode()
    assert f'data-survey="{waiting[0].pk}"' in home


def test_the_demo_fills_the_satisfaction_panel(db):
    # The demo as `make run` seeds it (its full size also redeems the mall's rewards out of stock).
    demo_seed()
    with schema_context(DEMO_CLINIC_SLUG):
        today = local_date(timezone.now())
        year = kpi_satisfaction(scope=Scope(preset_period("last_12_months", today)))
        month = kpi_satisfaction(scope=Scope(preset_period("last_month", today)))

        assert year.nps.promoters and year.nps.passives and year.nps.detractors
        assert year.response_rate is not None and 0 < year.response_rate < 1
        assert any(rating.average is not None for rating in year.practitioner_ratings)
        assert year.followups_on_time_rate is not None and year.recall.denominator > 0
        assert year.detractor_followups_open == FollowUpTask.objects.filter(kind="detractor", status="open").count()
        assert month.nps.score is not None and month.response_rate is not None


def test_the_demo_bookings_are_ahead_so_their_reminders_are_sent_not_skipped(db):
    from appointments.models import Reminder
    from appointments.reminders import appointment_reminders_send

    demo_seed(members=20)
    with schema_context(DEMO_CLINIC_SLUG):
        now = timezone.now()
        schedule = Booking.objects.filter(starts_at__gte=local_midnight(local_date(now)))
        waiting = schedule.filter(status__in=[Booking.Status.BOOKED, Booking.Status.CONFIRMED])
        assert waiting.exists() and all(booking.starts_at > now for booking in waiting)
        # The first run of the reminder job
        counts = appointment_reminders_send(now=now)
        assert counts["reminders_sent"] > 0
        reminders = Reminder.objects.filter(booking__in=waiting)
        assert reminders.filter(status=Reminder.Status.SENT).exists()
        assert not reminders.filter(reason=Reminder.Reason.APPOINTMENT_STARTED).exists()


def test_the_demo_ships_segments_with_members_in_them(db):
    from segments.models import MemberScore, Segment
    from segments.selectors import segment_count

    clinic, _created = demo_seed(members=60)

    with schema_context(clinic.schema_name):
        names = set(Segment.objects.values_list("name", flat=True))
        assert {"沉睡客户", "VIP 高消费", "本月生日"} <= names
        assert MemberScore.objects.exists()
        assert segment_count(Segment.objects.get(name="VIP 高消费")) > 0


def test_demo_clinic_has_campaigns_one_finished_with_a_measured_difference(db):
    from campaigns.models import Campaign, CampaignResult

    clinic, _created = demo_seed(members=60)
    with schema_context(clinic.schema_name):
        statuses = sorted(Campaign.objects.exclude(schedule="birthday").values_list("status", flat=True))
        assert statuses == ["draft", "finished", "scheduled"]
        birthday = Campaign.objects.get(schedule="birthday", status__in=["scheduled", "running"])
        assert (birthday.bonus_points, birthday.tier_gift, birthday.kind) == (88, True, "birthday")
        result = CampaignResult.objects.get(campaign__status="finished")
        groups = result.figures["groups"]
        assert groups["control"]["members"] > 0 and groups["treated"]["members"] > groups["control"]["members"]
        # The treated members' response shows in visits; revenue per member also depends on which
        # treatments the few control members happened to buy, so only its arithmetic is asserted.
        assert groups["treated"]["visit_rate"] > groups["control"]["visit_rate"]
        assert groups["treated"]["visits_per_member"] > groups["control"]["visits_per_member"]
        assert result.figures["incremental_visits"] > 0
        treated, control = groups["treated"], groups["control"]
        per_member = Decimal(treated["revenue_per_member"]) - Decimal(control["revenue_per_member"])
        expected = per_member * treated["members"]
        assert abs(Decimal(result.figures["incremental_revenue"]) - expected) <= Decimal("0.01") * treated["members"]
        assert ledger_verify() == []


def test_demo_seed_sells_treatment_packages_some_members_hold(db):
    from packages.models import PackageProduct, PackagePurchase
    from packages.selectors import member_packages, outstanding_sessions

    clinic, _created = demo_seed(members=20)
    portal_member = demo_portal_member(clinic)
    with schema_context(DEMO_CLINIC_SLUG):
        assert PackageProduct.objects.count() == 2
        assert PackagePurchase.objects.count() == 12
        assert member_packages(portal_member)
        assert outstanding_sessions().sessions > 0
        assert ledger_verify() == []
    demo_seed(members=20)
    with schema_context(DEMO_CLINIC_SLUG):
        assert PackagePurchase.objects.count() == 12


def test_demo_seed_has_top_up_plans_and_members_with_card_balances(db):
    from storedvalue.models import CardCharge, TopUp, TopUpPlan
    from storedvalue.rules import money
    from storedvalue.selectors import card_balance

    demo_seed(members=20)
    with schema_context(DEMO_CLINIC_SLUG):
        assert sorted(TopUpPlan.objects.values_list("pay_amount", "bonus_amount")) == [
            (2000, 100), (5000, 500), (10000, 1500)]
        top_ups = list(TopUp.objects.select_related("member"))
        assert len(top_ups) >= 3
        holders = {top_up.member for top_up in top_ups}
        balances = [card_balance(member) for member in holders]
        assert all(balance.principal + balance.bonus > 0 for balance in balances)
        spent = CardCharge.objects.count()
        assert spent > 0
        # what is on the cards is what was topped up less what was paid with them
        paid_in = sum(top_up.paid + top_up.bonus for top_up in top_ups)
        paid_with = money(sum(charge.principal + charge.bonus - charge.principal_restored - charge.bonus_restored
                              for charge in CardCharge.objects.all()))
        assert sum(balance.principal + balance.bonus for balance in balances) == paid_in - paid_with
        assert ledger_verify() == []
    demo_seed(members=20)
    with schema_context(DEMO_CLINIC_SLUG):
        assert TopUp.objects.count() == len(top_ups) and TopUpPlan.objects.count() == 3


def test_the_demo_history_has_aftercare_after_lasers_repeat_injectables_and_serum_after_facials():
    items = {sku: SimpleNamespace(sku=sku, kind=kind) for kind, sku, *_rest in DEMO_CATALOGUE}
    now = datetime(2026, 12, 1, 4, tzinfo=UTC)
    rng = random.Random(2026)
    bought = defaultdict(list)  # (member, sku) -> times
    for member in range(300):
        for at, _member, lines in _demo_member_visits(rng, member, items, now):
            for item, _quantity in lines:
                bought[member, item.sku].append(at)

    def followed_by(first: str, then: tuple[str, ...]) -> float:
        sessions = followed = 0
        for (member, sku), times in bought.items():
            if sku != first:
                continue
            for at in times:
                sessions += 1
                followed += any(timedelta(0) <= later - at <= timedelta(days=14)
                                for other in then for later in bought.get((member, other), []))
        return followed / sessions

    # Aftercare (修护面膜, 修复凝胶) after lasers, the serum after 水光针: on the day or within two weeks.
    assert followed_by("LSR-01", ("PRD-01",)) > 0.45  # bought with it 60 % of the time
    assert followed_by("LSR-02", ("PRD-04",)) > 0.3  # 50 %
    assert followed_by("FAC-01", ("PRD-03",)) > 0.4  # 55 %
    assert followed_by("BTX-01", ("PRD-01", "PRD-04")) < 0.2  # no aftercare kit after Botox
    # Repeat injectables with their cycles: the median gap between a member's sessions.
    for sku, cycle in (("BTX-01", 120), ("BTX-02", 150)):
        gaps = [(b - a).days for (member, s), times in bought.items() if s == sku
                for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
        assert len(gaps) >= 10 and abs(statistics.median(gaps) - cycle) < 0.2 * cycle, (sku, gaps)
    assert len({sku for _member, sku in bought}) == len(DEMO_CATALOGUE)
