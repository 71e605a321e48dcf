"""The money adds up to the cent on every path: top-up, mixed payment, refunds, cash-out, expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from messaging.models import Message
from points.expiry import expiry_warnings_send
from points.ledger import lots_expire
from points.models import Account, Asset, Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import constraints_check, points_give
from storedvalue.models import CardCharge, CashOut, StoredValueSettings
from storedvalue.services import cash_out_quote, stored_value_cash_out, stored_value_top_up
from visits.models import Payment


def balances(member) -> tuple[int, int]:
    found = dict(Account.objects.filter(member=member).values_list("asset", "balance"))
    return found.get(Asset.STORED_VALUE_PRINCIPAL, 0), found.get(Asset.STORED_VALUE_BONUS, 0)


def points(member) -> int:
    return Account.objects.filter(member=member, asset=Asset.POINTS).values_list("balance", flat=True).first() or 0


def pay_with_card(member, actor, item, *, card: str, cash: str = "0", quantity: int = 1):
    payments = [PaymentInput(method="stored_value", amount=Decimal(card))]
    if Decimal(cash):
        payments.append(PaymentInput(method="cash", amount=Decimal(cash)))
    return checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=item.pk, quantity=quantity)],
                             payments=payments)


def test_top_up_with_a_plan_credits_principal_and_bonus_lots_and_earns_no_points_by_default(
        member, front_desk, plan_5000):
    top_up = stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="wechat_pay",
                                 reference="WX-001")

    assert balances(member) == (500_000, 50_000)
    assert (top_up.paid, top_up.bonus, top_up.points_earned) == (Decimal("5000.00"), Decimal("500.00"), 0)
    assert top_up.receipt_number == f"SV{top_up.pk:08d}"
    bonus_lot = Lot.objects.get(entry=top_up.bonus_entry)
    assert bonus_lot.expires_at is not None and bonus_lot.expires_at > timezone.now() + timedelta(days=364)
    assert Lot.objects.get(entry=top_up.principal_entry).expires_at is None
    assert top_up.principal_entry.source_id == str(top_up.pk) and top_up.principal_entry.actor == front_desk
    assert points(member) == 0
    constraints_check()
    assert ledger_verify() == []


def test_top_up_earns_points_when_the_clinic_says_so(member, front_desk, plan_5000, card_rules):
    card_rules.top_up_earns_points = True
    card_rules.save()
    plan_5000.bonus_points = 200
    plan_5000.save()
    top_up = stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    assert top_up.points_earned == 5200
    assert points(member) == 5200


def test_proportional_split_rounds_the_bonus_share_to_the_nearest_cent_and_loses_nothing(
        member, front_desk, plan_5000, cream_333):
    # 5,000 paid in + 500 bonus; a 333.33 cream: bonus share 33333 × 500/5500 = 3030.27 -> 3030 cents
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    result = pay_with_card(member, front_desk, cream_333, card="333.33")

    charge = CardCharge.objects.get(visit=result.visit)
    assert (charge.principal, charge.bonus) == (33333 - 3030, 3030)
    assert balances(member) == (500_000 - 30303, 50_000 - 3030)
    # spend paid with the card earns points by default (333.33 × 1, rounded down)
    assert points(member) == 333
    constraints_check()
    assert ledger_verify() == []


@pytest.mark.parametrize(("rule", "expected"), [
    (StoredValueSettings.Split.PRINCIPAL_FIRST, (50_000, 0)),
    (StoredValueSettings.Split.BONUS_FIRST, (40_000, 10_000)),
])
def test_principal_first_and_bonus_first(member, front_desk, catalogue, card_rules, rule, expected):
    card_rules.split_rule = rule
    card_rules.save()
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("600"), method="cash")
    Account.objects.filter(member=member, asset=Asset.STORED_VALUE_BONUS).delete()
    from storedvalue.models import TopUpPlan
    plan = TopUpPlan.objects.create(name="充0.01送100", pay_amount=Decimal("0.01"), bonus_amount=Decimal("100"))
    stored_value_top_up(member=member, actor=front_desk, plan=plan, method="cash")
    assert catalogue["cream"].price == Decimal("500.00")
    result = pay_with_card(member, front_desk, catalogue["cream"], card="500")
    charge = CardCharge.objects.get(visit=result.visit)
    assert (charge.principal, charge.bonus) == expected


def test_paying_more_than_the_card_holds_is_refused_and_changes_nothing(member, front_desk, cream_333):
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("100"), method="cash")
    entries = Entry.objects.count()
    with pytest.raises(ValidationError) as refused:
        pay_with_card(member, front_desk, cream_333, card="333.33")
    assert "Not enough stored value: 100.00 available, 333.33 to pay." in str(refused.value)
    assert balances(member) == (10_000, 0)
    assert Entry.objects.count() == entries
    assert not CardCharge.objects.exists()


def test_spend_paid_with_the_card_earns_nothing_when_the_clinic_says_so(
        member, front_desk, catalogue, card_rules):
    card_rules.spend_earns_points = False
    card_rules.save()
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("3000"), method="cash")
    # 3,000 filler: 2,000 from the card, 1,000 cash -> only the cash earns
    pay_with_card(member, front_desk, catalogue["filler"], card="2000", cash="1000")
    assert points(member) == 1000
    assert balances(member) == (100_000, 0)


def test_refunds_give_back_exactly_the_principal_and_bonus_the_visit_took(member, front_desk, plan_5000,
                                                                          cream_333):
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    # three creams (999.99): 700.00 from the card, 299.99 cash
    result = pay_with_card(member, front_desk, cream_333, card="700", cash="299.99", quantity=3)
    charge = CardCharge.objects.get(visit=result.visit)
    taken = (charge.principal, charge.bonus)
    assert sum(taken) == 70_000
    assert taken == (70_000 - 6364, 6364)  # 70000 × 500/5500 = 6363.6 -> 6364
    line = result.visit.lines.get()

    # one cream refunded: 333.33, paid back from the card first (the larger method)
    refund = visit_refund(visit=result.visit, lines=[(line.pk, 1)], reason="过敏", actor=front_desk)
    assert refund.amount == Decimal("333.33")
    charge.refresh_from_db()
    assert charge.principal_restored + charge.bonus_restored == 33333
    assert charge.bonus_restored == 6364 * 33333 // 70000
    assert -sum(Payment.objects.filter(refund=refund, method="stored_value").values_list("amount", flat=True)) \
        == Decimal("333.33")

    # the rest refunded: everything the card gave is back, to the cent, and the cash part goes back as cash
    refund = visit_refund(visit=result.visit, lines=[(line.pk, 2)], reason="过敏", actor=front_desk)
    charge.refresh_from_db()
    assert (charge.principal_restored, charge.bonus_restored) == taken
    assert balances(member) == (500_000, 50_000)
    assert Payment.objects.filter(refund=refund, method="cash").get().amount == Decimal("-299.99")
    constraints_check()
    assert ledger_verify() == []

    # and there is nothing more to refund
    with pytest.raises(ValidationError):
        visit_refund(visit=result.visit, lines=[(line.pk, 1)], reason="again", actor=front_desk)
    assert balances(member) == (500_000, 50_000)


def test_cash_out_pays_back_principal_less_the_bonus_used_and_forfeits_the_rest(
        member, front_desk, manager, plan_5000, catalogue, card_rules):
    card_rules.cash_out_charge_back_percent = 50
    card_rules.save()
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    pay_with_card(member, front_desk, catalogue["filler"], card="3000")  # bonus 300000×500/5500 = 27272.7 -> 27273
    quote = cash_out_quote(member)
    assert (quote.principal, quote.bonus, quote.bonus_used) == (
        Decimal("2272.73"), Decimal("227.27"), Decimal("272.73"))
    assert quote.charge_back == Decimal("136.37")  # 27273 × 50% = 13636.5 -> 13637
    assert quote.refund == Decimal("2136.36")

    with pytest.raises(PermissionDenied):
        stored_value_cash_out(member=member, actor=front_desk, reason="搬家", method="cash")
    with pytest.raises(ValidationError):
        stored_value_cash_out(member=member, actor=manager, reason="搬家", method="cash",
                              expected_refund=Decimal("2000"))
    assert balances(member) == (227_273, 22_727)

    cash_out = stored_value_cash_out(member=member, actor=manager, reason="搬家", method="cash",
                                     expected_refund=quote.refund)
    assert cash_out.refund + cash_out.charge_back == cash_out.principal == Decimal("2272.73")
    assert balances(member) == (0, 0)
    assert CardCharge.objects.filter(settled_by=cash_out).count() == 1
    constraints_check()
    assert ledger_verify() == []
    with pytest.raises(ValidationError):
        stored_value_cash_out(member=member, actor=manager, reason="再来", method="cash")
    assert CashOut.objects.count() == 1


def test_bonus_expiry_leaves_principal_and_points_alone_and_sends_no_points_warning(
        member, front_desk, plan_5000):
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    points_give(member, 100)  # points that never expire
    Message.objects.all().delete()
    # 350 days on, the bonus lot expires within the warning period: no points warning for it
    counts = expiry_warnings_send(now=timezone.now() + timedelta(days=350))
    assert counts == {"warnings_queued": 0, "warnings_skipped": 0}
    assert not Message.objects.exists()

    expired = lots_expire(now=timezone.now() + timedelta(days=400))

    assert expired == 1
    assert balances(member) == (500_000, 0)
    assert points(member) == 100
    assert Entry.objects.filter(kind=Entry.Kind.EXPIRE, account__asset=Asset.STORED_VALUE_BONUS,
                                amount=-50_000).count() == 1
    constraints_check()
    assert ledger_verify() == []


def test_bad_top_ups_are_refused(member, front_desk, plan_5000):
    for kwargs in ({"paid": Decimal("0")}, {"paid": Decimal("-5")}, {"paid": Decimal("1.001")},
                   {"plan": plan_5000, "paid": Decimal("100")}, {"paid": Decimal("10"), "method": "bitcoin"}):
        with pytest.raises(ValidationError):
            stored_value_top_up(member=member, actor=front_desk, **{"method": "cash", **kwargs})
    assert balances(member) == (0, 0)


def test_a_plan_with_a_tier_raises_the_member_and_never_lowers(member, front_desk, plan_5000):
    from tiers.models import Tier, TierChange
    from tiers.selectors import member_current_tier

    top = Tier.objects.order_by("-rank").first()
    plan_5000.tier = top
    plan_5000.save()
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    assert member_current_tier(member) == top
    assert TierChange.objects.filter(member=member, to_tier=top).count() == 1
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    assert TierChange.objects.filter(member=member, to_tier=top).count() == 1


def test_paying_with_the_card_adds_a_bounded_number_of_statements_to_a_checkout(member, front_desk, cream_333,
                                                                               plan_5000):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext


    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    with CaptureQueriesContext(connection) as cash_run:
        checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=cream_333.pk)],
                          payments=[PaymentInput(method="cash", amount=Decimal("333.33"))])
    with CaptureQueriesContext(connection) as card_run:
        pay_with_card(member, front_desk, cream_333, card="333.33")
    added = len(card_run.captured_queries) - len(cash_run.captured_queries)
    # both card accounts locked in one statement, their spendable lots in one, both debits (entries,
    # lots, allocations, balances) in one, and the charge row; the card rules come with the
    # checkout's configuration
    assert CardCharge.objects.get(visit__in=member.visits.all(), bonus__gt=0)
    assert added <= 4, f"paying with the card adds {added} statements"


def test_a_merge_moves_the_duplicates_card_and_a_refund_after_it_goes_to_the_survivor(
        member, front_desk, manager, plan_5000, cream_333):
    from members.services import member_merge, member_register

    duplicate = member_register(name="张小美", phone="13812345670", actor=front_desk)
    stored_value_top_up(member=duplicate, actor=front_desk, plan=plan_5000, method="cash")
    result = pay_with_card(duplicate, front_desk, cream_333, card="333.33")
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("100"), method="cash")

    member_merge(survivor=member, duplicate=duplicate, actor=manager)

    assert balances(duplicate) == (0, 0)
    assert sum(balances(member)) == 10_000 + 550_000 - 33_333
    visit_refund(visit=result.visit, lines=[(result.visit.lines.get().pk, 1)], reason="合并后退款", actor=manager)
    assert balances(member) == (10_000 + 500_000, 50_000)
    constraints_check()
    assert ledger_verify() == []
