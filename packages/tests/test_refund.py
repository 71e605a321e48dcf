"""Refunding the unused sessions of a purchase: the clinic's rule, the manager's amount within
what the sessions are worth, the money back on the sale visit, nothing changed on a refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from packages.models import PackagePurchase, PackageRefund, PackageSettings
from packages.selectors import member_packages, outstanding_sessions, package_figures
from packages.services import package_refund, package_refund_quote, package_settings_update
from packages.tests.test_sell_use import account, sell, use
from points.selectors import ledger_verify
from visits.models import Payment, Visit

D = Decimal


def test_pro_rata_refund_pays_back_the_unused_sessions_value_on_the_sale_visit(member, ipl_package, catalogue,
                                                                               front_desk, manager):
    sale = sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    purchase = PackagePurchase.objects.get(member=member)
    quote = package_refund_quote(purchase=purchase)
    assert (quote.sessions, quote.value, quote.amount) == (2, D("666.67"), D("666.67"))
    before = timezone.now()
    refund = package_refund(purchase=purchase, actor=manager, reason="moving away")
    assert (refund.sessions, refund.amount, refund.value, refund.actor) == (2, D("666.67"), D("666.67"), manager)
    assert account(member, ipl_package).balance == 0
    visit = Visit.objects.get(pk=sale.visit.pk)
    assert visit.refunded_total == D("666.67")
    assert list(Payment.objects.filter(refund=refund.visit_refund).values_list("method", "amount")) == [
        ("cash", D("-666.67"))]
    assert member_packages(member)[0].status == "refunded"
    assert outstanding_sessions().value == 0
    figures = package_figures(lo=before, hi=timezone.now() + timedelta(seconds=1))
    assert (figures.sessions_refunded, figures.refunded_value, figures.refunded_money) == (2, D("666.67"),
                                                                                          D("666.67"))
    assert figures.recognised == 0
    assert ledger_verify() == []


def test_list_price_rule_with_a_fee(member, ipl_package, catalogue, front_desk, manager):
    package_settings_update(actor=manager, refund_rule=PackageSettings.RefundRule.LIST_PRICE, refund_fee_percent=10,
                            expiry_warning_days=30)
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    # ¥1,000 less one session at the catalogue's ¥800 = ¥200, less 10 % = ¥180.
    refund = package_refund(purchase=PackagePurchase.objects.get(member=member), actor=manager, reason="x")
    assert refund.amount == D("180.00") and refund.value == D("666.67")


def test_refund_beyond_what_the_sessions_are_worth_is_refused_and_changes_nothing(member, ipl_package, front_desk,
                                                                                  manager):
    sell(member, ipl_package, front_desk)
    purchase = PackagePurchase.objects.get(member=member)
    with pytest.raises(ValidationError) as refused:
        package_refund(purchase=purchase, actor=manager, reason="x", amount=D("1000.01"))
    assert "At most 1000.00 can be refunded" in str(refused.value)
    assert account(member, ipl_package).balance == 3
    assert not PackageRefund.objects.exists() and Visit.objects.get().refunded_total == 0


def test_a_smaller_amount_leaves_the_rest_as_revenue(member, ipl_package, front_desk, manager):
    sell(member, ipl_package, front_desk)
    before = timezone.now()
    package_refund(purchase=PackagePurchase.objects.get(member=member), actor=manager, reason="x", amount=D("900"))
    figures = package_figures(lo=before, hi=timezone.now() + timedelta(seconds=1))
    assert figures.recognised == D("100.00")


def test_front_desk_cannot_refund_and_reason_is_required(member, ipl_package, front_desk, manager):
    sell(member, ipl_package, front_desk)
    purchase = PackagePurchase.objects.get(member=member)
    with pytest.raises(PermissionDenied):
        package_refund(purchase=purchase, actor=front_desk, reason="x")
    with pytest.raises(ValidationError):
        package_refund(purchase=purchase, actor=manager, reason="  ")
    assert account(member, ipl_package).balance == 3


def test_nothing_left_or_expired_cannot_be_refunded(member, ipl_package, catalogue, front_desk, manager):
    sell(member, ipl_package, front_desk, at=timezone.now() - timedelta(days=400))
    with pytest.raises(ValidationError) as refused:
        package_refund(purchase=PackagePurchase.objects.get(member=member), actor=manager, reason="x")
    assert "expired on" in str(refused.value)
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk, quantity=3)
    fresh = PackagePurchase.objects.filter(member=member).latest("id")
    with pytest.raises(ValidationError) as refused:
        package_refund(purchase=fresh, actor=manager, reason="x")
    assert "no unused sessions" in str(refused.value)
