"""Real concurrency: desks in their own threads and database connections use the last sessions of
one package at once, against data committed beforehand in a throwaway clinic."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.models import Member
from members.services import member_register
from packages.models import PackagePurchase
from packages.selectors import outstanding_sessions
from packages.services import package_product_create
from points.models import Account, Entry
from points.selectors import ledger_verify
from visits.models import Visit
from visits.services import catalogue_item_create, category_create

DESKS = 8


@pytest.fixture(scope="module")
def race(committed_clinic, django_db_blocker):
    clinic = committed_clinic("packagerace", "次卡并发诊所")
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        category = category_create(name="光电", code="laser")
        ipl = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL", category=category,
                                    price=Decimal("800"), duration_minutes=45)
        product = package_product_create(name="光子3次卡", sku="PKG3", category=category, price=Decimal("1000"),
                                         sessions=3, treatments=[ipl])
        member = member_register(name="并发会员", phone="13900000001", actor=None)
        checkout_complete(member=member, actor=None, lines=[LineInput(item_id=product.item_id)],
                          payments=[PaymentInput(method="cash", amount=Decimal("1000"))])
        checkout_complete(member=member, actor=None, lines=[LineInput(item_id=ipl.pk, package_id=product.pk)],
                          payments=[])
        checkout_complete(member=member, actor=None, lines=[LineInput(item_id=ipl.pk, package_id=product.pk)],
                          payments=[])
    return clinic.schema_name, member.pk, product.pk, ipl.pk


def test_the_last_session_is_used_once_when_desks_race(race, django_db_blocker):
    slug, member_id, product_id, ipl_id = race
    barrier = threading.Barrier(DESKS)
    outcomes: list[str] = []

    def desk() -> None:
        try:
            with schema_context(slug):
                member = Member.objects.get(pk=member_id)
                barrier.wait(timeout=60)
                checkout_complete(member=member, actor=None, payments=[],
                                  lines=[LineInput(item_id=ipl_id, package_id=product_id)])
            outcomes.append("used")
        except ValidationError as exc:
            outcomes.append("refused" if "剩余0次" in str(exc.message_dict.get("lines")) else repr(exc))
        except Exception as exc:  # noqa: BLE001 - any other outcome is reported by the test
            outcomes.append(repr(exc))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=desk) for _n in range(DESKS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["refused"] * (DESKS - 1) + ["used"], outcomes
        with schema_context(slug):
            account = Account.objects.get(member_id=member_id, asset=f"package:{product_id}")
            assert account.balance == 0
            assert Entry.objects.filter(account=account, kind=Entry.Kind.REDEEM).count() == 3
            assert Visit.objects.filter(member_id=member_id).count() == 4
            assert PackagePurchase.objects.get().lot.remaining == 0
            assert outstanding_sessions().sessions == 0
            assert ledger_verify() == []
