from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from members.services import member_register
from points.ledger import account_for, available_balance
from points.models import CategoryMultiplier, Entry
from tiers.models import Tier
from visits.models import Payment, Visit


def pay(amount: str, method: str = "wechat_pay") -> list[PaymentInput]:
    return [PaymentInput(method=method, amount=Decimal(amount))]


def balance(member) -> int:
    return account_for(member).balance


def test_checkout_records_visit_and_earns_points_on_what_was_paid(member, catalogue, front_desk):
    result = checkout_complete(member=member, actor=front_desk,
                               lines=[LineInput(item_id=catalogue["filler"].pk),
                                      LineInput(item_id=catalogue["cream"].pk, quantity=2,
                                                discount=Decimal("100"))],
                               payments=[PaymentInput("wechat_pay", Decimal("3000")),
                                         PaymentInput("cash", Decimal("900"))])

    visit = result.visit
    assert (visit.subtotal, visit.line_discount, visit.total) == (Decimal("4000"), Decimal("100"), Decimal("3900"))
    assert visit.lines.count() == 2 and visit.payments.count() == 2
    assert result.points_earned == 3900
    assert balance(member) == 3900
    assert Entry.objects.get(kind=Entry.Kind.EARN).actor == front_desk


def test_payments_must_match_the_bill_and_nothing_is_recorded_otherwise(member, catalogue, front_desk):
    with pytest.raises(ValidationError) as exc:
        checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                          payments=pay("2999"))
    assert "payments" in exc.value.message_dict
    assert not Visit.objects.exists() and balance(member) == 0


def test_points_pay_part_of_the_bill_within_the_clinic_share(member, catalogue, front_desk, rules):
    for _visit in range(2):
        checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                          payments=pay("3000"))
    rules.max_points_share_percent = 10
    rules.save()

    with pytest.raises(ValidationError) as exc:
        checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                          payments=pay("440"), points_to_use=6000)
    assert "points_to_use" in exc.value.message_dict
    assert balance(member) == 6000

    result = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                               payments=pay("450"), points_to_use=5000)
    assert result.visit.points_discount == Decimal("50.00")
    assert result.points_earned == 450
    assert balance(member) == 6000 - 5000 + 450


def test_not_enough_points_moves_nothing(member, catalogue, front_desk):
    with pytest.raises(ValidationError):
        checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                          payments=pay("499"), points_to_use=100)
    assert not Visit.objects.exists()


def test_category_and_birthday_month_multipliers(front_desk, catalogue, rules):
    rules.birthday_month_multiplier = Decimal("2")
    rules.save()
    CategoryMultiplier.objects.create(category=catalogue["cream"].category, multiplier=Decimal("3"))
    today = timezone.localdate()
    birthday_member = member_register(name="生日", phone="13900000001", actor=front_desk,
                                      birthday=date(1990, today.month, 1))

    result = checkout_complete(member=birthday_member, actor=front_desk,
                               lines=[LineInput(item_id=catalogue["cream"].pk)], payments=pay("500"))

    assert result.points_earned == 500 * 3 * 2


def test_pending_points_are_not_spendable_until_their_day(member, catalogue, front_desk, rules):
    rules.pending_days = 7
    rules.save()
    checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                      payments=pay("3000"))
    account = account_for(member)
    assert account.balance == 3000
    assert available_balance(account) == 0
    assert available_balance(account, at=timezone.now() + timedelta(days=7, seconds=1)) == 3000


def test_first_visit_and_referral_bonuses_are_paid_once(front_desk, catalogue, rules):
    rules.first_visit_bonus = 100
    rules.referral_bonus_referrer = 300
    rules.referral_bonus_referee = 200
    rules.save()
    referrer = member_register(name="推荐人", phone="13900000002", actor=front_desk)
    referee = member_register(name="新朋友", phone="13900000003", actor=front_desk,
                              referral_code=referrer.referral_code)

    first = checkout_complete(member=referee, actor=front_desk,
                              lines=[LineInput(item_id=catalogue["cream"].pk)], payments=pay("500"))
    second = checkout_complete(member=referee, actor=front_desk,
                               lines=[LineInput(item_id=catalogue["cream"].pk)], payments=pay("500"))

    assert first.bonuses == {"first_visit": 100, "referral": 200, "referrer": 300}
    assert second.bonuses == {}
    assert balance(referee) == 500 + 100 + 200 + 500
    assert balance(referrer) == 300


def test_partial_refund_reverses_points_and_gives_back_points_used_in_proportion(
        member, catalogue, front_desk, rules):
    checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                      payments=pay("3000"))
    result = checkout_complete(member=member, actor=front_desk,
                               lines=[LineInput(item_id=catalogue["cream"].pk, quantity=4)],
                               payments=pay("1980"), points_to_use=2000)
    visit = result.visit
    assert result.points_earned == 1980
    assert balance(member) == 3000 - 2000 + 1980

    line = visit.lines.get()
    refund = visit_refund(visit=visit, lines=[(line.pk, 1)], reason="过敏", actor=front_desk)

    assert refund.amount == Decimal("495.00")
    assert Payment.objects.get(refund=refund).amount == Decimal("-495.00")
    assert balance(member) == 3000 - 2000 + 1980 - 495 + 500

    visit_refund(visit=visit, lines=[(line.pk, 3)], reason="全部退", actor=front_desk)
    visit.refresh_from_db()
    assert visit.refunded_total == visit.total
    assert balance(member) == 3000


def test_refund_of_more_than_bought_is_refused(member, catalogue, front_desk):
    visit = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                              payments=pay("500")).visit
    with pytest.raises(ValidationError):
        visit_refund(visit=visit, lines=[(visit.lines.get().pk, 2)], reason="x", actor=front_desk)
    assert balance(member) == 500


def test_crossing_a_threshold_upgrades_at_once_and_the_next_visit_gets_the_benefits(
        member, catalogue, front_desk):
    Tier.objects.filter(rank=1).update(min_spend=Decimal("5000"), discount_percent=5,
                                       earn_multiplier=Decimal("1.2"))
    first = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                              payments=pay("3000"))
    assert first.tier_change is None

    second = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["filler"].pk)],
                               payments=pay("3000"))
    assert second.tier_change.to_tier.rank == 1
    assert second.tier_change.kind == "upgrade"

    third = checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                              payments=pay("475"))
    assert third.visit.tier_discount == Decimal("25.00")
    assert third.points_earned == 570
