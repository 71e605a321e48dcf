"""A member's whole record across apps: export, erasure with the ledger intact, merge of tier
state, referral figures, and the join date in the clinic's own time zone."""

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.models import MedicalAccessLog, MemberEvent
from members.services import medical_profile_update, member_erase, member_merge, member_register
from points.adjustments import points_adjust
from points.coupons import coupon_issue, coupon_template_create
from points.ledger import account_for
from points.selectors import ledger_verify, referral_stats
from tiers.models import MemberTier, Tier, TierChange
from tiers.selectors import member_current_tier
from tiers.services import tier_set_manual


def pay(amount: str) -> list[PaymentInput]:
    return [PaymentInput(method="cash", amount=Decimal(amount))]


def buy(member, actor, item, paid: str, quantity: int = 1):
    return checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=item.pk, quantity=quantity)],
                             payments=pay(paid))


@pytest.fixture
def busy_member(member, catalogue, front_desk, manager, practitioner, rules):
    """A member with a visit, a partial refund, a coupon, an adjustment, a tier and allergies."""
    visit = buy(member, front_desk, catalogue["cream"], "1000", quantity=2).visit
    visit_refund(visit=visit, lines=[(visit.lines.get().pk, 1)], reason="一支过敏", actor=front_desk)
    template = coupon_template_create(name="生日券", kind="fixed", amount=Decimal("50"), valid_days=30)
    coupon_issue(template=template, member=member, actor=manager, source="manual")
    points_adjust(member=member, amount=20, reason_code="goodwill", note="等候太久", actor=front_desk)
    tier_set_manual(member=member, tier=Tier.objects.get(rank=1), actor=manager, reason="VIP")
    medical_profile_update(member=member, actor=practitioner, allergies="利多卡因")
    return member


def test_export_holds_visits_points_coupons_tiers_and_is_recorded(busy_member, staff_client, manager):
    # when a manager exports the member's data through the API
    response = staff_client(manager).get(f"/api/v1/members/{busy_member.pk}/export/")

    # then every part of the record is there
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "张小美"
    [visit] = data["visits"]
    assert visit["total"] == "1000.00" and visit["refunded_total"] == "500.00"
    assert visit["lines"][0]["refunded_quantity"] == 1 and visit["lines"][0]["points_earned"] == 1000
    assert [payment["amount"] for payment in visit["payments"]] == ["1000.00", "-500.00"]
    assert visit["refunds"][0]["points_reversed"] == 500
    assert visit["refunds"][0]["lines"][0]["quantity"] == 1
    [account] = data["points_accounts"]
    assert account["balance"] == 1000 - 500 + 20
    assert [entry["kind"] for entry in account["entries"]] == ["earn", "reverse", "adjust"]
    assert sum(lot["remaining"] for lot in account["lots"]) == account["balance"]
    assert [coupon["template__name"] for coupon in data["coupons"]] == ["生日券"]
    assert data["points_adjustments"][0]["note"] == "等候太久"
    assert data["redemptions"] == []
    assert data["tier"]["name"] == Tier.objects.get(rank=1).name
    assert [change["kind"] for change in data["tier_history"]] == ["manual"]
    assert data["referral_stats"] == {"referred": 0, "converted": 0, "bonus_points": 0}
    assert data["medical"]["allergies"] == "利多卡因"
    # and the export is recorded with who did it, and the medical read is logged
    event = MemberEvent.objects.get(member=busy_member, kind=MemberEvent.Kind.EXPORTED)
    assert (event.actor, event.detail) == (manager, {"medical": True})
    assert MedicalAccessLog.objects.filter(member=busy_member, staff=manager, action="export").exists()


def test_export_leaves_out_medical_notes_for_an_owner_and_is_refused_to_front_desk(
        busy_member, staff_client, owner, front_desk):
    # when the owner exports, then the medical notes are left out (owners do not read them)
    data = staff_client(owner).get(f"/api/v1/members/{busy_member.pk}/export/").json()
    assert "medical" not in data
    assert data["visits"]
    assert MemberEvent.objects.get(kind=MemberEvent.Kind.EXPORTED).detail == {"medical": False}

    # and the front desk may not export at all, which records nothing
    assert staff_client(front_desk).get(f"/api/v1/members/{busy_member.pk}/export/").status_code == 403
    assert MemberEvent.objects.filter(kind=MemberEvent.Kind.EXPORTED).count() == 1


def test_erase_keeps_visits_and_ledger_totals_and_verify_ledger_is_clean(busy_member, manager, capsys):
    # given a member with points, visits and a refund
    account = account_for(busy_member)
    balance, lifetime = account.balance, account.lifetime_earned
    visits = list(busy_member.visits.values_list("pk", "total", "refunded_total"))

    # when the member is erased
    member_erase(member=busy_member, actor=manager, reason="会员要求删除")

    # then the personal data is gone but the ledger and visits are exactly as they were
    busy_member.refresh_from_db()
    assert busy_member.phone is None and busy_member.name.endswith(busy_member.member_number)
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned) == (balance, lifetime)
    assert list(busy_member.visits.values_list("pk", "total", "refunded_total")) == visits
    assert ledger_verify() == []
    call_command("verify_ledger", "--clinic", connection.tenant.schema_name)
    assert "ledger agrees" in capsys.readouterr().out


def test_merge_keeps_the_higher_tier_and_moves_the_tier_history(front_desk, manager, rules):
    # given a Regular survivor and a Gold duplicate with a tier history
    gold = Tier.objects.get(rank=2)
    survivor = member_register(name="张小美", phone="13900008888", actor=front_desk)
    duplicate = member_register(name="张小美", phone="13900009999", actor=front_desk)
    tier_set_manual(member=duplicate, tier=gold, actor=manager, reason="老会员")
    since = MemberTier.objects.get(member=duplicate).since

    # when the duplicate is merged into the survivor
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)

    # then the survivor is Gold from the duplicate's date, and both history rows are the survivor's
    assert member_current_tier(survivor) == gold
    assert MemberTier.objects.get(member=survivor).since == since
    assert not MemberTier.objects.filter(member=duplicate).exists()
    kinds = list(TierChange.objects.filter(member=survivor).order_by("id").values_list("kind", "reason"))
    assert kinds == [("manual", "老会员"),
                     ("merge", f"Kept the higher tier of merged member {duplicate.member_number}")]
    assert not TierChange.objects.filter(member=duplicate).exists()


def test_merge_leaves_a_higher_survivor_tier_alone(front_desk, manager, rules):
    # given a Diamond survivor and a Silver duplicate
    survivor = member_register(name="张小美", phone="13900008888", actor=front_desk)
    duplicate = member_register(name="张小美", phone="13900009999", actor=front_desk)
    tier_set_manual(member=survivor, tier=Tier.objects.get(rank=3), actor=manager, reason="钻石")
    tier_set_manual(member=duplicate, tier=Tier.objects.get(rank=1), actor=manager, reason="银卡")

    # when merged
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)

    # then the survivor stays Diamond, with no merge change, and has both histories
    assert member_current_tier(survivor).rank == 3
    assert sorted(TierChange.objects.filter(member=survivor).values_list("reason", flat=True)) == ["钻石", "银卡"]
    assert not MemberTier.objects.filter(member=duplicate).exists()


def test_referral_stats_count_referees_conversions_and_bonus_kept(
        front_desk, catalogue, rules, staff_client):
    # given a referrer with three referees: one paid, one fully refunded, one never visited
    rules.referral_bonus_referrer = 300
    rules.save()
    referrer = member_register(name="推荐人", phone="13900000002", actor=front_desk)
    paid, refunded, idle = (member_register(name=name, phone=phone, actor=front_desk,
                                            referral_code=referrer.referral_code)
                            for name, phone in (("甲", "13900000003"), ("乙", "13900000004"),
                                                ("丙", "13900000005")))
    buy(paid, front_desk, catalogue["cream"], "500")
    visit = buy(refunded, front_desk, catalogue["cream"], "500").visit
    visit_refund(visit=visit, lines=[(visit.lines.get().pk, 1)], reason="退款", actor=front_desk)

    # when the referrer's stats are read
    stats = referral_stats(member=referrer)

    # then three were referred, one converted, and the referrer kept one bonus of 300
    assert (stats.referred, stats.converted, stats.bonus_points) == (3, 1, 300)
    assert {row.member.pk: (row.converted, row.bonus_points) for row in stats.referees} == {
        paid.pk: (True, 300), refunded.pk: (False, 0), idle.pk: (False, 0)}

    # and the API gives the same, with each referee
    response = staff_client(front_desk).get(f"/api/v1/members/{referrer.pk}/referrals/")
    assert response.status_code == 200
    body = response.json()
    assert (body["referral_code"], body["referred"], body["converted"], body["bonus_points"]) == (
        referrer.referral_code, 3, 1, 300)
    assert [row["member_number"] for row in body["referees"]] == [
        paid.member_number, refunded.member_number, idle.member_number]
    assert body["referees"][0]["first_paid_visit_at"] is not None


def test_referral_stats_api_needs_staff_and_an_existing_member(anon_client, staff_client, practitioner, member):
    assert anon_client.get(f"/api/v1/members/{member.pk}/referrals/").status_code == 401
    assert staff_client(practitioner).get(f"/api/v1/members/{member.pk}/referrals/").status_code == 200
    assert staff_client(practitioner).get("/api/v1/members/999999/referrals/").status_code == 404


def test_joined_on_is_the_clinic_local_date(front_desk, clinic, monkeypatch):
    # given a clinic in a time zone whose date differs right now from Asia/Shanghai's (the
    # server's setting): at any moment one of these two zones does
    def today(zone: str):
        return timezone.localtime(timezone.now(), ZoneInfo(zone)).date()

    zone = next(zone for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago") if today(zone) != today("Asia/Shanghai"))
    monkeypatch.setattr(clinic, "time_zone", zone)

    # when a member registers
    member = member_register(name="Anna Li", phone="13900000006", actor=front_desk)

    # then the join date is the clinic's today, not the server's
    assert member.joined_on == today(zone)
    assert member.joined_on != timezone.localdate()
