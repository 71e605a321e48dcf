"""Selling a package at checkout, using its sessions, and what they are worth."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from packages.models import PackageProduct, PackagePurchase
from packages.selectors import member_packages, outstanding_sessions, package_figures
from packages.services import package_product_create
from points.ledger import lots_expire
from points.models import Account, Entry, Lot
from points.selectors import ledger_verify
from points.tests.factories import constraints_check
from visits.models import Visit

D = Decimal


def sell(member, product, actor, *, at=None, paid=None):
    price = product.item.price if paid is None else paid
    return checkout_complete(member=member, actor=actor, at=at, lines=[LineInput(item_id=product.item_id)],
                             payments=[PaymentInput(method="cash", amount=price)])


def use(member, product, treatment, actor, *, at=None, quantity=1):
    return checkout_complete(member=member, actor=actor, at=at, payments=[],
                             lines=[LineInput(item_id=treatment.pk, quantity=quantity, package_id=product.pk)])


def account(member, product):
    return Account.objects.get(member=member, asset=f"package:{product.pk}")


def test_sale_opens_a_lot_of_n_sessions_with_validity_and_defers_the_payment(member, ipl_package, front_desk):
    now = timezone.now()
    result = sell(member, ipl_package, front_desk, at=now)
    purchase = PackagePurchase.objects.get(member=member)
    assert purchase.sessions == 3 and purchase.price == D("1000.00")
    assert purchase.visit_line.visit_id == result.visit.pk
    lot = purchase.lot
    assert (lot.amount, lot.remaining) == (3, 3)
    assert lot.expires_at > now + timedelta(days=365) and lot.expires_at <= now + timedelta(days=367)
    assert account(member, ipl_package).balance == 3
    assert result.visit.total == D("1000.00")
    assert result.points_earned == 1000
    owed = outstanding_sessions()
    assert (owed.sessions, owed.value) == (3, D("1000.00"))
    assert [(m.member_id, m.sessions, m.value) for m in owed.members] == [(member.pk, 3, D("1000.00"))]
    constraints_check()


def test_using_sessions_covers_the_line_and_recognises_exact_values(member, ipl_package, catalogue, front_desk):
    start = timezone.now() - timedelta(days=10)
    sell(member, ipl_package, front_desk, at=start)
    values = []
    for n in range(3):
        at = start + timedelta(days=n + 1)
        result = use(member, ipl_package, catalogue["ipl"], front_desk, at=at)
        assert result.visit.total == D("0.00") and result.lines[0].line_total == D("0.00")
        assert result.points_earned == 0
        figures = package_figures(lo=at, hi=at + timedelta(seconds=1))
        values.append(figures.used_value)
        assert figures.sessions_used == 1
    assert values == [D("333.33"), D("333.33"), D("333.34")]
    assert sum(values) == D("1000.00")
    assert outstanding_sessions().sessions == 0 and outstanding_sessions().value == 0
    mid = outstanding_sessions(start + timedelta(days=1, hours=1))
    assert (mid.sessions, mid.value) == (2, D("666.67"))
    entries = Entry.objects.filter(account=account(member, ipl_package)).order_by("id")
    assert [e.amount for e in entries] == [3, -1, -1, -1]
    assert ledger_verify() == []


def test_no_sessions_left_is_refused_and_changes_nothing(member, ipl_package, catalogue, front_desk):
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk, quantity=3)
    visits = Visit.objects.count()
    with pytest.raises(ValidationError) as refused:
        use(member, ipl_package, catalogue["ipl"], front_desk)
    assert "0 sessions left" in str(refused.value)
    assert Visit.objects.count() == visits
    assert account(member, ipl_package).balance == 0


def test_expired_package_is_refused_then_expires_with_its_value_recognised(member, ipl_package, catalogue,
                                                                            front_desk):
    bought = timezone.now() - timedelta(days=400)
    sell(member, ipl_package, front_desk, at=bought)
    use(member, ipl_package, catalogue["ipl"], front_desk, at=bought + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        use(member, ipl_package, catalogue["ipl"], front_desk)
    assert "expired on" in str(refused.value)
    lot = PackagePurchase.objects.get(member=member).lot
    assert lot.remaining == 2
    now = timezone.now()
    assert lots_expire(now=now) == 1
    lot.refresh_from_db()
    assert lot.remaining == 0
    figures = package_figures(lo=now - timedelta(seconds=1), hi=now + timedelta(seconds=1))
    assert (figures.sessions_expired, figures.expired_value) == (2, D("666.67"))
    assert outstanding_sessions().value == 0
    assert outstanding_sessions(bought + timedelta(days=2)).value == D("666.67")
    assert ledger_verify() == []


def test_a_treatment_the_package_does_not_cover_is_refused(member, ipl_package, catalogue, front_desk):
    sell(member, ipl_package, front_desk)
    with pytest.raises(ValidationError) as refused:
        use(member, ipl_package, catalogue["facial"], front_desk)
    assert "is not covered by" in str(refused.value)
    assert account(member, ipl_package).balance == 3


def test_validity_from_first_use_starts_at_the_first_session(member, catalogue, front_desk):
    product = package_product_create(name="水光5次卡", sku="PKG-HF5", category=catalogue["category"],
                                     price=D("2000.00"), sessions=5, treatments=[catalogue["facial"]],
                                     validity_months=6, validity_start=PackageProduct.ValidityStart.FIRST_USE)
    bought = timezone.now() - timedelta(days=300)
    sell(member, product, front_desk, at=bought)
    lot = PackagePurchase.objects.get(member=member).lot
    assert lot.expires_at is None
    assert member_packages(member)[0].status == "not_started"
    first = timezone.now() - timedelta(days=1)
    use(member, product, catalogue["facial"], front_desk, at=first)
    lot.refresh_from_db()
    assert first + timedelta(days=180) < lot.expires_at < first + timedelta(days=186)
    holding = member_packages(member)[0]
    assert holding.left == 4 and holding.status == "active" and holding.last_day is not None


def test_sale_and_use_in_one_visit_with_a_tier_discount_defers_what_was_paid(member, ipl_package, catalogue,
                                                                            front_desk):
    from tiers.models import Tier
    Tier.objects.update(discount_percent=10)
    result = checkout_complete(member=member, actor=front_desk, lines=[
        LineInput(item_id=ipl_package.item_id), LineInput(item_id=catalogue["ipl"].pk, package_id=ipl_package.pk),
        LineInput(item_id=catalogue["cream"].pk)], payments=[PaymentInput(method="cash", amount=D("1170.00"))])
    assert result.visit.total == D("1170.00")
    purchase = PackagePurchase.objects.get(member=member)
    assert purchase.price == D("900.00")
    assert account(member, ipl_package).balance == 2
    assert outstanding_sessions().value == D("600.00")


def test_refunding_the_sale_untouched_takes_the_sessions_back(member, ipl_package, front_desk):
    result = sell(member, ipl_package, front_desk)
    line = result.lines[0]
    refund = visit_refund(visit=result.visit, lines=[(line.pk, 1)], reason="changed mind", actor=front_desk)
    assert refund.amount == D("1000.00")
    assert account(member, ipl_package).balance == 0
    assert outstanding_sessions().sessions == 0
    constraints_check()


def test_refunding_a_sale_whose_sessions_were_used_is_refused(member, ipl_package, catalogue, front_desk):
    result = sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    with pytest.raises(ValidationError) as refused:
        visit_refund(visit=result.visit, lines=[(result.lines[0].pk, 1)], reason="x", actor=front_desk)
    assert "refund its unused sessions" in str(refused.value)
    assert account(member, ipl_package).balance == 2


def test_refunding_a_covered_treatment_gives_the_session_back(member, ipl_package, catalogue, front_desk):
    sell(member, ipl_package, front_desk)
    used = use(member, ipl_package, catalogue["ipl"], front_desk)
    assert account(member, ipl_package).balance == 2
    visit_refund(visit=used.visit, lines=[(used.lines[0].pk, 1)], reason="not done", actor=front_desk)
    assert account(member, ipl_package).balance == 3
    assert Lot.objects.get(pk=PackagePurchase.objects.get(member=member).lot_id).remaining == 3
    assert outstanding_sessions().value == D("1000.00")
    assert ledger_verify() == []


def test_the_liability_reconciles_opening_movements_and_closing(member, ipl_package, catalogue, front_desk,
                                                                manager):
    from packages.selectors import package_liability
    from packages.services import package_refund
    t0 = timezone.now() - timedelta(days=20)
    sell(member, ipl_package, front_desk, at=t0)
    use(member, ipl_package, catalogue["ipl"], front_desk, at=t0 + timedelta(days=1))
    start = t0 + timedelta(days=2)
    sell(member, ipl_package, front_desk, at=start + timedelta(days=1))
    second = use(member, ipl_package, catalogue["ipl"], front_desk, at=start + timedelta(days=2))
    visit_refund(visit=second.visit, lines=[(second.lines[0].pk, 1)], reason="not done", actor=front_desk,
                 at=start + timedelta(days=3))
    use(member, ipl_package, catalogue["ipl"], front_desk, at=start + timedelta(days=4), quantity=2)
    package_refund(purchase=PackagePurchase.objects.order_by("id").last(), actor=manager, reason="x")
    end = timezone.now() + timedelta(seconds=1)
    report = package_liability(start=start, end=end)
    assert report.opening.value == D("666.67") and report.opening.sessions == 2
    assert report.reconciles
    by_key = {m.key: (m.sessions, m.value) for m in report.movements}
    assert by_key["sold"] == (3, D("1000.00"))
    assert by_key["used"][0] == -3 and by_key["given_back"] == (1, D("333.33"))
    assert report.closing.value == sum((m.value for m in report.movements), report.opening.value)
