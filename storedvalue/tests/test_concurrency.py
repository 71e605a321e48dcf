"""Real concurrency: 50 threads, each with its own database connection and transaction, pay with
the same card at once against data committed beforehand in a throwaway clinic."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from accounts.models import User
from checkout.services import LineInput, PaymentInput, checkout_complete
from members.models import Member
from members.services import member_register
from points.models import Account, Asset
from points.selectors import ledger_verify
from storedvalue.models import CardCharge, TopUpPlan
from storedvalue.services import stored_value_top_up
from tiers.models import Tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

THREADS = 50
PRICE = Decimal("99.99")
# 1,000.00 paid in + 111.11 bonus = 111,111 cents: eleven payments of 9,999 fit (109,989), a twelfth not.
FITS = 11


@pytest.fixture(scope="module")
def race(committed_clinic, django_db_blocker) -> dict:
    clinic = committed_clinic("cardrace", "储值并发诊所")
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        owner = User.objects.get(username="owner")
        Tier.objects.update(discount_percent=0)  # the bill stays 99.99 as the member moves up
        member = member_register(name="并发会员", phone="13900000001", actor=None)
        plan = TopUpPlan.objects.create(name="充1000送111.11", pay_amount=Decimal("1000"),
                                        bonus_amount=Decimal("111.11"))
        stored_value_top_up(member=member, actor=owner, plan=plan, method="cash")
        item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                     category=category_create(name="护肤", code="care"), price=PRICE)
    return {"slug": clinic.schema_name, "member": member.pk, "item": item.pk, "owner": owner.pk}


def test_50_concurrent_card_payments_never_overdraw(race, django_db_blocker):
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            with translation.override("en"), schema_context(race["slug"]):
                member, actor = Member.objects.get(pk=race["member"]), User.objects.get(pk=race["owner"])
                barrier.wait(timeout=60)
                checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=race["item"])],
                                  payments=[PaymentInput(method="stored_value", amount=PRICE)])
            outcomes.append("paid")
        except ValidationError as exc:
            outcomes.append("refused" if "Not enough stored value" in str(exc) else str(exc))
        except Exception as exc:  # noqa: BLE001 - any other outcome is reported by the test
            outcomes.append(repr(exc))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=attempt) for _n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(set(outcomes)) == ["paid", "refused"], outcomes
        assert outcomes.count("paid") == FITS
        with schema_context(race["slug"]):
            balances = dict(Account.objects.filter(member_id=race["member"]).values_list("asset", "balance"))
            left = balances[Asset.STORED_VALUE_PRINCIPAL] + balances[Asset.STORED_VALUE_BONUS]
            assert left == 111_111 - FITS * 9_999 >= 0
            charges = CardCharge.objects.filter(member_id=race["member"])
            assert charges.count() == FITS
            assert sum(c.principal + c.bonus for c in charges) == FITS * 9_999
            assert ledger_verify() == []
        out = StringIO()
        call_command("verify_ledger", "--clinic", race["slug"], stdout=out)
        assert "ledger agrees" in out.getvalue()
