"""The liability report as of any day reconciles with the ledger; the renewal rate counts what
docs/kpis.md says it counts."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from members.services import member_register
from points.ledger import lots_expire
from points.models import Account, Asset
from points.rules import local_date, local_midnight
from storedvalue.selectors import card_balance, card_statement, liability_report, renewal_rate
from storedvalue.services import stored_value_cash_out, stored_value_top_up
from storedvalue.tests.test_money_paths import pay_with_card


def test_liability_as_of_past_days_and_today_reconciles_with_the_ledger(member, front_desk, manager, plan_5000,
                                                                         catalogue):
    now = timezone.now()
    ten_days_ago = now - timedelta(days=10)
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash", at=ten_days_ago)
    other = member_register(name="李四", phone="13812345679", actor=front_desk)
    stored_value_top_up(member=other, actor=front_desk, paid=Decimal("1000"), method="alipay", at=now)
    pay_with_card(member, front_desk, catalogue["filler"], card="3000")

    past = liability_report(as_of=local_date(ten_days_ago))
    section = past.sections[0]
    assert section.key == "stored_value"
    assert [line.amount for line in section.lines] == [Decimal("5000.00"), Decimal("500.00")]

    today = liability_report(as_of=local_date(now), since=local_date(ten_days_ago) - timedelta(days=1))
    section = today.sections[0]
    principal = sum(Account.objects.filter(asset=Asset.STORED_VALUE_PRINCIPAL).values_list("balance", flat=True))
    bonus = sum(Account.objects.filter(asset=Asset.STORED_VALUE_BONUS).values_list("balance", flat=True))
    assert [line.amount for line in section.lines] == [Decimal(principal) / 100, Decimal(bonus) / 100]
    assert section.opening == 0 and section.reconciles
    assert today.total == Decimal("2500.00") + Decimal("1000.00")
    movements = {line.key: line.amount for line in section.movements}
    assert movements["stored_value_principal:topup"] == Decimal("6000.00")
    assert movements["stored_value_bonus:bonus"] == Decimal("500.00")
    assert movements["stored_value_principal:payment"] + movements["stored_value_bonus:payment"] == \
        Decimal("-3000.00")

    stored_value_cash_out(member=other, actor=manager, reason="退卡", method="cash")
    lots_expire(now=now + timedelta(days=400))
    later = liability_report(as_of=local_date(now + timedelta(days=400)), since=local_date(now))
    assert later.sections[0].reconciles
    assert [line.amount for line in later.sections[0].lines] == [Decimal("2272.73"), Decimal("0.00")]


def test_card_balance_and_statement(member, front_desk, plan_5000, cream_333):
    stored_value_top_up(member=member, actor=front_desk, plan=plan_5000, method="cash")
    pay_with_card(member, front_desk, cream_333, card="333.33")
    balance = card_balance(member)
    assert balance.total == Decimal("5500.00") - Decimal("333.33")
    assert balance.bonus_expiring[0].amount == balance.bonus
    lines = card_statement(member)
    assert [(line.kind, line.principal + line.bonus) for line in lines] == [
        ("payment", Decimal("-333.33")), ("topup", Decimal("5500.00"))]


def test_renewal_rate_counts_falls_below_the_threshold_and_top_ups_within_the_window(
        front_desk, manager, rules, card_rules, catalogue):
    card_rules.renewal_threshold = Decimal("500")
    card_rules.renewal_days = 30
    card_rules.save()
    now = timezone.now()
    start = local_midnight(local_date(now) - timedelta(days=60))
    members = [member_register(name=f"会员{n}", phone=f"1390000000{n}", actor=front_desk) for n in range(4)]
    for m in members:
        stored_value_top_up(member=m, actor=front_desk, paid=Decimal("3000"), method="cash",
                            at=now - timedelta(days=50))
    # 0: falls below 500 and renews 10 days later; 1: falls, renews after 40 days (too late);
    # 2: falls and never renews; 3: cashes out (not a fall that counts)
    for m in members[:3]:
        pay_with_card(m, front_desk, catalogue["filler"], card="3000")
    from storedvalue.models import CardCharge
    CardCharge.objects.update(at=now - timedelta(days=45))
    from points.models import Entry
    # move the payments back in time through a fresh ledger is not possible (append-only), so the
    # falls are the ones recorded now; the window is measured from them
    stored_value_top_up(member=members[0], actor=front_desk, paid=Decimal("100"), method="cash",
                        at=now + timedelta(days=10))
    stored_value_top_up(member=members[1], actor=front_desk, paid=Decimal("100"), method="cash",
                        at=now + timedelta(days=40))
    stored_value_cash_out(member=members[3], actor=manager, reason="退卡", method="cash")
    assert Entry.objects.filter(kind="payment").count() == 3

    figures = renewal_rate(start=start, end=now + timedelta(days=1))
    assert (figures.fell_below, figures.renewed) == (3, 1)
    assert figures.rate == round(1 / 3, 6)
    # a period before the falls counts nobody
    assert renewal_rate(start=start, end=now - timedelta(days=1)).fell_below == 0
