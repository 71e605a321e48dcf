"""Ledger helpers for tests: points go in through the real ledger, never as hand-built rows."""

from datetime import datetime, timedelta

from django.db import connection, transaction

from members.models import Member
from points.ledger import Source, account_for, ledger_credit
from points.models import Account, Entry


def points_give(member: Member, amount: int, *, at: datetime | None = None,
                available_from: datetime | None = None, expires_at: datetime | None = None,
                kind: str = Entry.Kind.EARN) -> Entry:
    with transaction.atomic():
        account = account_for(member, lock=True)
        return ledger_credit(account=account, amount=amount, kind=kind, source=Source("test"), actor=None,
                             at=at, available_from=available_from, expires_at=expires_at)


def account_of(member: Member) -> Account:
    return Account.objects.get(member=member)


def constraints_check() -> None:
    """Run the ledger's deferred constraint triggers now, as a commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def days(n: float) -> timedelta:
    return timedelta(days=n)
