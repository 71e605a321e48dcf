"""The split of a card payment and of a refund's give-back: pure arithmetic, every cent accounted for."""

import random

import pytest

from storedvalue.models import StoredValueSettings
from storedvalue.rules import payment_split, restore_split

RULES = [StoredValueSettings.Split.PROPORTIONAL, StoredValueSettings.Split.PRINCIPAL_FIRST,
         StoredValueSettings.Split.BONUS_FIRST]


@pytest.mark.parametrize("rule", RULES)
def test_every_split_adds_up_and_stays_within_the_balances(rule):
    rng = random.Random(13)
    for _n in range(20_000):
        principal, bonus = rng.randint(0, 2_000_000), rng.randint(0, 300_000)
        if principal + bonus == 0:
            continue
        amount = rng.randint(1, principal + bonus)
        from_principal, from_bonus = payment_split(amount, principal=principal, bonus=bonus, rule=rule)
        assert from_principal + from_bonus == amount
        assert 0 <= from_principal <= principal and 0 <= from_bonus <= bonus


def test_proportional_split_rounds_the_bonus_share_to_the_nearest_cent_half_up():
    assert payment_split(33333, principal=500_000, bonus=50_000, rule="proportional") == (30303, 3030)
    # 1 × 1/2 = 0.5 -> half a cent rounds up: the bonus gets it
    assert payment_split(1, principal=1, bonus=1, rule="proportional") == (0, 1)
    # 3 × 1/4 = 0.75 -> 1 from the bonus, 2 from the principal
    assert payment_split(3, principal=3, bonus=1, rule="proportional") == (2, 1)
    assert payment_split(100, principal=0, bonus=500, rule="proportional") == (0, 100)
    assert payment_split(100, principal=500, bonus=0, rule="proportional") == (100, 0)


def test_overdraw_is_not_split():
    with pytest.raises(ValueError):
        payment_split(101, principal=50, bonus=50, rule="proportional")
    with pytest.raises(ValueError):
        payment_split(0, principal=50, bonus=50, rule="proportional")


def test_successive_partial_refunds_give_back_exactly_what_was_taken():
    rng = random.Random(3)
    for _n in range(5_000):
        taken_principal, taken_bonus = rng.randint(0, 100_000), rng.randint(0, 20_000)
        total = taken_principal + taken_bonus
        if total == 0:
            continue
        restored = bonus_back = 0
        while restored < total:
            step = rng.randint(1, total - restored)
            bonus = restore_split(taken_principal=taken_principal, taken_bonus=taken_bonus,
                                  restored_before=restored, restored_after=restored + step)
            assert 0 <= bonus <= step and step - bonus >= 0
            bonus_back += bonus
            restored += step
            assert bonus_back <= taken_bonus and restored - bonus_back <= taken_principal
        assert (restored - bonus_back, bonus_back) == (taken_principal, taken_bonus)
