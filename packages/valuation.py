"""What package sessions are worth. A purchase of N sessions for price P is deferred revenue of P;
once c of its sessions have left it (used, expired or refunded), floor(P × c / N) cents of it
have been recognised. So each session is worth P / N rounded down to the cent, and the last one
takes the cents the rounding left: the N sessions add up to P exactly."""

from decimal import Decimal


def value_consumed(price: Decimal, sessions: int, consumed: int) -> Decimal:
    """The part of `price` recognised once `consumed` of `sessions` are gone (0 ≤ consumed ≤ sessions)."""
    cents = int(price * 100)
    return Decimal(cents * consumed // sessions) / 100


def value_of(price: Decimal, sessions: int, consumed_before: int, count: int) -> Decimal:
    """The value of `count` sessions leaving a purchase after `consumed_before` had gone."""
    return (value_consumed(price, sessions, consumed_before + count)
            - value_consumed(price, sessions, consumed_before))
