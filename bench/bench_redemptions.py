"""50 concurrent redemptions against one member: each thread has its own connection and they are
released together. The member can afford only some of them; the figure is how many points were
spent beyond the balance (must be none) and whether the ledger still agrees with itself."""

import threading
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic
from bench.figures import Figure
from members.models import Member
from members.services import member_register
from points.ledger import Source, account_for, ledger_credit
from points.models import Account, Reward
from points.rewards import reward_create, reward_redeem
from points.selectors import ledger_verify
from visits.services import catalogue_item_create, category_create

THREADS = 50
BALANCE = 1000
COST = 70


def _redeem_all(slug: str, member_id: int, reward_id: int) -> list[str]:
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            with schema_context(slug):
                member, reward = Member.objects.get(pk=member_id), Reward.objects.get(pk=reward_id)
                barrier.wait(timeout=60)
                reward_redeem(member=member, reward=reward, actor=None)
            outcomes.append("redeemed")
        except ValidationError:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - reported as an error figure
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def main() -> list[Figure]:
    clinic = fresh_clinic("benchredeem")
    try:
        with schema_context(clinic.schema_name):
            member = member_register(name="并发会员", phone="13900000000", actor=None)
            with transaction.atomic():
                ledger_credit(account=account_for(member, lock=True), amount=BALANCE, kind="earn",
                              source=Source("bench"), actor=None)
            item = catalogue_item_create(kind="product", name="面膜", sku="MASK", price=Decimal("99"),
                                         category=category_create(name="护肤", code="care"))
            reward = reward_create(name="面膜", kind=Reward.Kind.PRODUCT, points_cost=COST, item=item)
        started = time.perf_counter()
        outcomes = _redeem_all(clinic.schema_name, member.pk, reward.pk)
        elapsed = time.perf_counter() - started
        with schema_context(clinic.schema_name):
            balance = Account.objects.get(member=member).balance
            problems = ledger_verify()
        redeemed = outcomes.count("redeemed")
        overspent = max(0, redeemed * COST - BALANCE) + max(0, -balance)
        errors = len(outcomes) - redeemed - outcomes.count("refused")
        return [
            Figure(f"{THREADS} concurrent redemptions of {COST} from {BALANCE} points: redeemed",
                   float(redeemed), unit="", note=f"exactly {BALANCE // COST} can be afforded"),
            Figure("points spent beyond the balance", float(overspent), unit="points", target=0.5),
            Figure(f"redeemed other than the {BALANCE // COST} the balance allows",
                   float(abs(redeemed - BALANCE // COST)), unit="", target=0.5),
            Figure("ledger problems reported by ledger_verify afterwards", float(len(problems)), unit="",
                   target=0.5),
            Figure("errors other than a clear refusal", float(errors), unit="", target=0.5),
            Figure("time for all 50", elapsed, note="for reference"),
        ]
    finally:
        drop_clinic(clinic)
