"""Real concurrency: 50 threads, each with its own database connection, redeem at once against
data committed beforehand in a throwaway clinic."""

import threading
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from members.models import Member
from members.services import member_register
from points.models import Account, Redemption, Reward
from points.rewards import reward_create, reward_redeem
from points.selectors import ledger_verify
from points.tests.factories import days, points_give
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

THREADS = 50
BALANCE = 1000
COST = 70
STOCK = 7


@dataclass(frozen=True)
class Race:
    slug: str
    member_id: int
    reward_id: int
    stocked_reward_id: int
    crowd: list[int]


@pytest.fixture(scope="module")
def race(committed_clinic, django_db_blocker) -> Race:
    clinic = committed_clinic("pointsrace", "并发测试诊所")
    now = timezone.now()
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        member = member_register(name="并发会员", phone="13900000000", actor=None)
        points_give(member, 400, expires_at=now + days(30))
        points_give(member, 350)
        points_give(member, 250, expires_at=now + days(10))
        item = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="面膜", sku="MASK",
                                     category=category_create(name="护肤", code="care"), price=Decimal("99"))
        reward = reward_create(name="面膜", kind=Reward.Kind.PRODUCT, points_cost=COST, item=item)
        stocked = reward_create(name="限量面膜", kind=Reward.Kind.PRODUCT, points_cost=COST, item=item,
                                stock=STOCK)
        crowd = []
        for n in range(THREADS):
            other = member_register(name=f"会员{n}", phone=f"1370000{n:04d}", actor=None)
            points_give(other, COST)
            crowd.append(other.pk)
    return Race(slug=clinic.schema_name, member_id=member.pk, reward_id=reward.pk,
                stocked_reward_id=stocked.pk, crowd=crowd)


def redeem_at_once(slug: str, attempts: list[tuple[int, int]]) -> list[str]:
    """Each (member id, reward id) in its own thread and connection, released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def attempt(member_id: int, reward_id: int) -> None:
        try:
            with schema_context(slug):
                member, reward = Member.objects.get(pk=member_id), Reward.objects.get(pk=reward_id)
                barrier.wait(timeout=60)
                reward_redeem(member=member, reward=reward, actor=None)
            outcomes.append("redeemed")
        except ValidationError:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - any other outcome is reported by the test
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def verify_clean(slug: str) -> None:
    with schema_context(slug):
        assert ledger_verify() == []
    out = StringIO()
    call_command("verify_ledger", "--clinic", slug, stdout=out)
    assert "ledger agrees" in out.getvalue()


def test_50_concurrent_redemptions_against_one_member_never_overspend(race, django_db_blocker):
    with django_db_blocker.unblock():
        outcomes = redeem_at_once(race.slug, [(race.member_id, race.reward_id)] * THREADS)

        fits = BALANCE // COST
        assert sorted(set(outcomes)) == ["redeemed", "refused"], outcomes
        assert outcomes.count("redeemed") == fits
        with schema_context(race.slug):
            account = Account.objects.get(member_id=race.member_id)
            assert account.balance == BALANCE - fits * COST >= 0
            assert Redemption.objects.filter(member_id=race.member_id).count() == fits
        verify_clean(race.slug)


def test_50_members_racing_for_a_limited_reward_never_oversell_it(race, django_db_blocker):
    with django_db_blocker.unblock():
        outcomes = redeem_at_once(race.slug, [(pk, race.stocked_reward_id) for pk in race.crowd])

        assert outcomes.count("redeemed") == STOCK, outcomes
        assert outcomes.count("refused") == THREADS - STOCK
        with schema_context(race.slug):
            assert Reward.objects.get(pk=race.stocked_reward_id).stock == 0
            spent = Account.objects.filter(member_id__in=race.crowd, balance=0).count()
            assert spent == STOCK
        verify_clean(race.slug)
