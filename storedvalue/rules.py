"""Stored value's arithmetic: cents, the clinic's rules, and how a payment is split between the
paid-in balance (principal) and the bonus."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from storedvalue.models import StoredValueSettings

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("10000000.00")


def cents(amount: Decimal) -> int:
    """A money amount as whole cents; refuses fractions of a cent."""
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise ValidationError(_("Amounts are in whole cents."))
    return int(value)


def money(amount_cents: int) -> Decimal:
    return (Decimal(amount_cents) / 100).quantize(CENT)


def stored_value_settings() -> StoredValueSettings:
    """The clinic's rules row, or the defaults (unsaved) while it has none."""
    return StoredValueSettings.objects.filter(pk=1).first() or StoredValueSettings(pk=1)


def payment_split(amount: int, *, principal: int, bonus: int, rule: str) -> tuple[int, int]:
    """How `amount` cents are taken from a card holding `principal` and `bonus` cents available:
    (from principal, from bonus), adding up to `amount` exactly.

    - proportional (default): the bonus part is amount × bonus / (principal + bonus), rounded to
      the nearest cent (half a cent up); the principal part is the rest. Neither part can exceed
      its balance, because each exact share is at most its balance and balances are whole cents.
    - principal_first: the principal as far as it goes, then the bonus.
    - bonus_first: the bonus as far as it goes, then the principal.
    The caller checks that amount ≤ principal + bonus."""
    if amount <= 0 or amount > principal + bonus:
        raise ValueError("amount must be positive and within the balances")
    if rule == StoredValueSettings.Split.PRINCIPAL_FIRST:
        from_principal = min(amount, principal)
        return from_principal, amount - from_principal
    if rule == StoredValueSettings.Split.BONUS_FIRST:
        from_bonus = min(amount, bonus)
        return amount - from_bonus, from_bonus
    from_bonus = int((Decimal(amount) * bonus / (principal + bonus)).to_integral_value(rounding=ROUND_HALF_UP))
    return amount - from_bonus, from_bonus


def restore_split(*, taken_principal: int, taken_bonus: int, restored_before: int, restored_after: int) -> int:
    """The bonus cents owed back once `restored_after` of a charge's `taken_principal +
    taken_bonus` cents are refunded: the bonus share of it rounded down (the principal gets the odd
    cent), and all of it once everything is refunded. Cumulative, so successive partial refunds
    never drift: returns the bonus to give back now."""
    total = taken_principal + taken_bonus

    def bonus_at(restored: int) -> int:
        if restored >= total:
            return taken_bonus
        return taken_bonus * restored // total

    return bonus_at(restored_after) - bonus_at(restored_before)
