"""The ledger engine, asset-agnostic. Every write locks the account row, appends an entry,
moves lots, and updates the balance cache in the same transaction. Debits consume available
lots soonest-expiring first."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, F, Q, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from members.models import Member
from points.models import Account, Allocation, Asset, Entry, Lot


class InsufficientBalance(ValidationError):
    def __init__(self, *, available: int, wanted: int):
        self.available, self.wanted = available, wanted
        super().__init__(_("Not enough points: %(available)s available, %(wanted)s needed."),
                         params={"available": available, "wanted": wanted}, code="insufficient_points")


class AlreadyRecorded(Exception):
    """The effect guarded by this dedupe key was recorded before; nothing moved."""

    def __init__(self, entry: Entry):
        self.entry = entry


@dataclass(frozen=True)
class Source:
    type: str
    id: str = ""


def account_for(member: Member, asset: str = Asset.POINTS, *, lock: bool = False) -> Account:
    account, _created = Account.objects.get_or_create(member=member, asset=asset)
    if lock:
        account = Account.objects.select_for_update().get(pk=account.pk)
    return account


# Rows read in SQL become instances through Model.from_db, which takes the columns in field order.
_ACCOUNT_COLUMNS = tuple(field.column for field in Account._meta.concrete_fields)

# The accounts wanted are (member, asset) pairs.
_ACCOUNTS_LOCK_SQL = f"""
SELECT {", ".join(f"a.{column}" for column in _ACCOUNT_COLUMNS)}
FROM points_account a JOIN unnest(%(members)s::bigint[], %(assets)s::text[]) AS k(m, s)
  ON a.member_id = k.m AND a.asset = k.s
ORDER BY a.id FOR UPDATE OF a
"""  # noqa: S608 - built from constants

_ACCOUNTS_OPEN_SQL = f"""
INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
SELECT m, s, 0, 0, 0, now() FROM unnest(%(members)s::bigint[], %(assets)s::text[]) AS k(m, s)
ORDER BY m, s
ON CONFLICT (member_id, asset) DO NOTHING
RETURNING {", ".join(_ACCOUNT_COLUMNS)}
"""  # noqa: S608 - built from constants


def _loaded(instance):
    """A model instance built from a row this module wrote or read in SQL, marked as stored."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _accounts(cursor) -> list[Account]:
    return [Account.from_db(connection.alias, _ACCOUNT_COLUMNS, row) for row in cursor.fetchall()]


def accounts_lock_many(wanted: list[tuple[int, str]]) -> dict[tuple[int, str], Account]:
    """Lock the accounts wanted, as (member id, asset) pairs, opening the missing ones: those that
    exist in id order in one statement (no deadlocks between concurrent multi-account writes), the
    missing ones by inserting them (a new row is held by the transaction that inserts it). A member
    whose account another transaction opens meanwhile waits for it, as for a lock. By (member id,
    asset)."""
    pairs = sorted(set(wanted))
    params = {"members": [member for member, _asset in pairs], "assets": [str(asset) for _member, asset in pairs]}
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNTS_LOCK_SQL, params)
        accounts = _accounts(cursor)
        if len(accounts) < len(pairs):
            cursor.execute(_ACCOUNTS_OPEN_SQL, params)
            accounts += _accounts(cursor)
            if len(accounts) < len(pairs):
                cursor.execute(_ACCOUNTS_LOCK_SQL, params)  # opened by another transaction meanwhile
                accounts = _accounts(cursor)
    return {(account.member_id, account.asset): account for account in accounts}


def member_accounts_lock(member_ids: list[int], assets: list[str]) -> list[Account]:
    """Lock (and open where missing) the accounts in `assets` of each member (accounts_lock_many)."""
    return list(accounts_lock_many([(member, asset) for member in member_ids for asset in assets]).values())


def accounts_lock(members: list[Member], asset: str = Asset.POINTS) -> dict[int, Account]:
    """Lock several members' accounts of one asset (accounts_lock_many), by member id."""
    return {member_id: account for (member_id, _asset), account
            in accounts_lock_many([(member.pk, asset) for member in members]).items()}


def _guard(dedupe_key: str | None) -> None:
    if dedupe_key:
        existing = Entry.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            raise AlreadyRecorded(existing)


def _append(account: Account, *, kind: str, amount: int, source: Source, actor: User | None,
            reason: str, dedupe_key: str | None, at: datetime) -> Entry:
    """Every caller holds the account's row lock, and every dedupe key belongs to one account, so
    `_guard` has already seen any earlier entry with this key."""
    entry = _entry(account, kind=kind, amount=amount, source=source, actor=actor, reason=reason,
                   dedupe_key=dedupe_key, at=at, now=timezone.now())
    entry.save(force_insert=True)
    return entry


def _save(account: Account, *, earned: int = 0) -> None:
    Account.objects.filter(pk=account.pk).update(
        balance=account.balance, version=account.version,
        lifetime_earned=F("lifetime_earned") + earned, updated_at=timezone.now())
    account.lifetime_earned += earned


_ENTRY_SQL = """
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, actor_id, reason,
                              dedupe_key, effective_at, created_at)
    VALUES (%(account)s, %(kind)s, %(amount)s, %(balance)s, %(source_type)s, %(source_id)s, %(actor)s, %(reason)s,
            %(dedupe_key)s, %(at)s, %(now)s)
    RETURNING id
"""

# A credit in one statement: the entry, its lot, the account's balance.
_CREDIT_SQL = f"""
WITH entry AS ({_ENTRY_SQL}),
lot AS (
    INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at, moved_from_id)
    SELECT %(account)s, id, %(amount)s, %(amount)s, %(available_from)s, %(expires_at)s, %(moved_from)s FROM entry
    RETURNING id
),
saved AS (
    UPDATE points_account SET balance = %(balance)s, version = %(version)s,
           lifetime_earned = lifetime_earned + %(earned)s, updated_at = %(now)s
    WHERE id = %(account)s
)
SELECT entry.id, lot.id FROM entry, lot
"""  # noqa: S608 - built from constants

# Debits of several accounts (one each) in one statement: their entries, what each takes from its
# lots (in the order given), the allocations, the accounts' balances.
_DEBITS_SQL = """
WITH debits AS (
    SELECT * FROM unnest(%(accounts)s::bigint[], %(amounts)s::bigint[], %(balances)s::bigint[],
                         %(versions)s::bigint[], %(keys)s::text[]) WITH ORDINALITY
        AS d(account_id, amount, balance_after, version, dedupe_key, n)
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, actor_id, reason,
                              dedupe_key, effective_at, created_at)
    SELECT account_id, %(kind)s, amount, balance_after, %(source_type)s, %(source_id)s, %(actor)s, %(reason)s,
           dedupe_key, %(at)s, %(now)s
    FROM debits ORDER BY n
    RETURNING id, account_id
),
taken AS (
    SELECT * FROM unnest(%(lot_accounts)s::bigint[], %(lots)s::bigint[], %(takes)s::bigint[]) WITH ORDINALITY
        AS t(account_id, lot_id, amount, n)
),
lots AS (
    UPDATE points_lot l SET remaining = l.remaining - t.amount FROM taken t WHERE l.id = t.lot_id
),
allocations AS (
    INSERT INTO points_allocation (entry_id, lot_id, amount)
    SELECT e.id, t.lot_id, t.amount FROM entries e JOIN taken t ON t.account_id = e.account_id ORDER BY t.n
),
saved AS (
    UPDATE points_account a SET balance = d.balance_after, version = d.version, updated_at = %(now)s
    FROM debits d WHERE a.id = d.account_id
)
SELECT account_id, id FROM entries
"""


@dataclass(frozen=True)
class Debit:
    """One debit of `ledger_debit_many`: `amount` from `account`, taken from `lots` in their order
    (the account's spendable lots as `lots_spendable` gave them)."""

    account: Account
    amount: int
    lots: list[Lot]


def _entry(account: Account, *, kind: str, amount: int, source: Source, actor: User | None, reason: str,
           dedupe_key: str | None, at: datetime, now: datetime) -> Entry:
    """The next entry of the locked `account` (not written yet), with the account's balance and
    version moved on."""
    account.balance += amount
    account.version += 1
    return Entry(account=account, kind=kind, amount=amount, balance_after=account.balance,
                 source_type=source.type, source_id=str(source.id), actor=actor, reason=reason,
                 dedupe_key=dedupe_key, effective_at=at, created_at=now)


def _entry_params(entry: Entry) -> dict:
    return {"account": entry.account_id, "kind": entry.kind, "amount": entry.amount, "balance": entry.balance_after,
            "source_type": entry.source_type, "source_id": entry.source_id, "actor": entry.actor_id,
            "reason": entry.reason, "dedupe_key": entry.dedupe_key, "at": entry.effective_at,
            "now": entry.created_at}


def _debits_write(debits: list[Debit], *, kind: str, source: Source, actor: User | None, reason: str,
                  dedupe_key: str | None, at: datetime) -> dict[int, Entry]:
    """Write debits of locked accounts (one each), each taking its amount (at most what its lots
    hold) from its lots in their order, in one statement; the lots' `remaining` are moved on too.
    Returns the entries by account id."""
    now = timezone.now()
    entries: dict[int, Entry] = {}
    taken: list[tuple[Lot, int]] = []
    for debit in debits:
        entries[debit.account.pk] = _entry(debit.account, kind=kind, amount=-debit.amount, source=source,
                                           actor=actor, reason=reason, dedupe_key=dedupe_key, at=at, now=now)
        left = debit.amount
        for lot in debit.lots:
            if left == 0:
                break
            take = min(lot.remaining, left)
            if take:
                taken.append((lot, take))
                left -= take
    with connection.cursor() as cursor:
        cursor.execute(_DEBITS_SQL, {
            "accounts": list(entries), "amounts": [entry.amount for entry in entries.values()],
            "balances": [entry.balance_after for entry in entries.values()],
            "versions": [debit.account.version for debit in debits], "keys": [dedupe_key for _debit in debits],
            "kind": kind, "source_type": source.type, "source_id": str(source.id),
            "actor": actor.pk if actor else None, "reason": reason, "at": at, "now": now,
            "lot_accounts": [lot.account_id for lot, _take in taken], "lots": [lot.pk for lot, _take in taken],
            "takes": [take for _lot, take in taken]})
        for account_id, entry_id in cursor.fetchall():
            entries[account_id].pk = entry_id
    for lot, take in taken:
        lot.remaining -= take
    for debit in debits:
        debit.account.updated_at = now
    return {account_id: _loaded(entry) for account_id, entry in entries.items()}


def _debit_write(account: Account, lots: list[Lot], amount: int, *, kind: str, source: Source,
                 actor: User | None, reason: str, dedupe_key: str | None, at: datetime) -> Entry:
    """One debit of `_debits_write`."""
    return _debits_write([Debit(account, amount, lots)], kind=kind, source=source, actor=actor, reason=reason,
                         dedupe_key=dedupe_key, at=at)[account.pk]


def ledger_debit_many(*, debits: list[Debit], kind: str, source: Source, actor: User | None, reason: str,
                      at: datetime) -> dict[int, Entry]:
    """Take value from several accounts at once (one debit each, locked by the caller, with the
    lots `lots_spendable` gave), in one statement: a payment split between two accounts. Refuses
    with InsufficientBalance, and writes nothing, if any account's lots hold too little. Returns
    the entries by account id."""
    debits = [debit for debit in debits if debit.amount]
    if len({debit.account.pk for debit in debits}) != len(debits):
        raise ValueError("ledger_debit_many takes one debit per account")
    for debit in debits:
        if debit.amount < 0:
            raise ValidationError(_("A debit must be a positive number of points."))
        available = sum(lot.remaining for lot in debit.lots if lot.account_id == debit.account.pk)
        if available < debit.amount:
            raise InsufficientBalance(available=available, wanted=debit.amount)
    if not debits:
        return {}
    return _debits_write(debits, kind=kind, source=source, actor=actor, reason=reason, dedupe_key=None, at=at)


def ledger_credit(*, account: Account, amount: int, kind: str, source: Source, actor: User | None,
                  reason: str = "", available_from: datetime | None = None,
                  expires_at: datetime | None = None, dedupe_key: str | None = None,
                  at: datetime | None = None, counts_as_earned: bool = True,
                  moved_from: Lot | None = None, key_unused: bool = False) -> Entry:
    """Add value as a new lot. The account must be locked by the caller's transaction.
    `key_unused`: the caller knows no entry holds `dedupe_key` yet (it names a row created in this
    transaction), so the lookup is skipped; the unique index on the key still stands behind it."""
    if amount <= 0:
        raise ValidationError(_("A credit must be a positive number of points."))
    if not key_unused:
        _guard(dedupe_key)
    at = at or timezone.now()
    now = timezone.now()
    earned = amount if counts_as_earned else 0
    entry = _entry(account, kind=kind, amount=amount, source=source, actor=actor, reason=reason,
                   dedupe_key=dedupe_key, at=at, now=now)
    lot = Lot(account=account, entry=entry, amount=amount, remaining=amount, available_from=available_from or at,
              expires_at=expires_at, moved_from=moved_from)
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT_SQL, {**_entry_params(entry), "available_from": lot.available_from,
                                     "expires_at": expires_at, "moved_from": moved_from.pk if moved_from else None,
                                     "version": account.version, "earned": earned})
        entry.pk, lot.pk = cursor.fetchone()
    _loaded(entry), _loaded(lot)
    account.lifetime_earned += earned
    account.updated_at = now
    return entry


@dataclass(frozen=True)
class BulkCredit:
    """One credit of `ledger_credit_many`: points for a member, with its source and guard key."""

    member_id: int
    amount: int
    source_id: str
    reason: str
    dedupe_key: str


_BULK_ACCOUNTS_SQL = """
INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
SELECT m, 'points', 0, 0, 0, now() FROM unnest(%(members)s::bigint[]) AS t(m)
ON CONFLICT (member_id, asset) DO NOTHING;
SELECT id FROM points_account WHERE asset = 'points' AND member_id = ANY(%(members)s::bigint[])
ORDER BY id FOR UPDATE;
"""

_BULK_CREDIT_SQL = """
WITH credits AS (
    SELECT a.id AS account_id, a.balance, c.amount, c.source_id, c.reason, c.dedupe_key
    FROM unnest(%(members)s::bigint[], %(amounts)s::int[], %(sources)s::text[], %(reasons)s::text[],
                %(keys)s::text[]) AS c(member_id, amount, source_id, reason, dedupe_key)
    JOIN points_account a ON a.member_id = c.member_id AND a.asset = 'points'
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                              reason, dedupe_key, effective_at, created_at)
    SELECT account_id, %(kind)s, amount, balance + amount, %(source_type)s, source_id, reason, dedupe_key,
           %(at)s, now()
    FROM credits ORDER BY account_id
    RETURNING id, account_id, amount, source_id
),
lots AS (
    INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at)
    SELECT account_id, id, amount, amount, %(available_from)s, %(expires_at)s FROM entries
),
balances AS (
    UPDATE points_account a
    SET balance = a.balance + e.amount, lifetime_earned = a.lifetime_earned + e.amount,
        version = a.version + 1, updated_at = now()
    FROM entries e WHERE a.id = e.account_id
)
SELECT source_id, id FROM entries
"""


def ledger_credit_many(*, credits: list[BulkCredit], kind: str, source_type: str, at: datetime,
                       available_from: datetime, expires_at: datetime | None) -> dict[str, int]:
    """Credit many members at once, each with one entry and one lot, in a few set-based statements
    (accounts opened where missing and locked in id order): the jobs' way to write the ledger at
    volume. One credit per member; amounts must be positive. Returns the entry id per source id."""
    credits = [credit for credit in credits if credit.amount > 0]
    if not credits:
        return {}
    members = [credit.member_id for credit in credits]
    if len(set(members)) != len(members):
        raise ValueError("ledger_credit_many takes one credit per member")
    with connection.cursor() as cursor:
        cursor.execute(_BULK_ACCOUNTS_SQL, {"members": members})
        cursor.execute(_BULK_CREDIT_SQL, {
            "members": members, "amounts": [c.amount for c in credits], "sources": [c.source_id for c in credits],
            "reasons": [c.reason for c in credits], "keys": [c.dedupe_key for c in credits], "kind": kind,
            "source_type": source_type, "at": at, "available_from": available_from, "expires_at": expires_at})
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class OpeningLot:
    """One lot of `ledger_open_many`: value a member brings from another system, in the asset's
    unit, credited as of its original date (`at`: the entry's effective time and the lot's
    availability) with its own expiry."""

    member_id: int
    asset: str
    amount: int
    at: datetime
    expires_at: datetime | None
    reason: str
    dedupe_key: str


_OPEN_ACCOUNTS_SQL = """
INSERT INTO points_account (member_id, asset, balance, lifetime_earned, version, updated_at)
SELECT DISTINCT t.m, t.s, 0, 0, 0, now() FROM unnest(%(members)s::bigint[], %(assets)s::text[]) AS t(m, s)
ON CONFLICT (member_id, asset) DO NOTHING;
SELECT a.id FROM points_account a
JOIN (SELECT DISTINCT m, s FROM unnest(%(members)s::bigint[], %(assets)s::text[]) AS t(m, s)) t
  ON a.member_id = t.m AND a.asset = t.s
ORDER BY a.id FOR UPDATE OF a;
"""

_OPEN_LOTS_SQL = """
WITH lots AS (
    SELECT a.id AS account_id, a.balance, c.n, c.amount, c.at, c.expires_at, c.reason, c.dedupe_key
    FROM unnest(%(members)s::bigint[], %(assets)s::text[], %(amounts)s::bigint[], %(ats)s::timestamptz[],
                %(expiries)s::timestamptz[], %(reasons)s::text[], %(keys)s::text[]) WITH ORDINALITY
         AS c(member_id, asset, amount, at, expires_at, reason, dedupe_key, n)
    JOIN points_account a ON a.member_id = c.member_id AND a.asset = c.asset
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id, actor_id,
                              reason, dedupe_key, effective_at, created_at)
    SELECT account_id, %(kind)s, amount, balance + SUM(amount) OVER (PARTITION BY account_id ORDER BY n),
           %(source_type)s, %(source_id)s, %(actor)s, reason, dedupe_key, at, %(now)s
    FROM lots ORDER BY account_id, n
    RETURNING id, account_id, amount, dedupe_key, effective_at
),
placed AS (
    INSERT INTO points_lot (account_id, entry_id, amount, remaining, available_from, expires_at)
    SELECT e.account_id, e.id, e.amount, e.amount, e.effective_at, l.expires_at
    FROM entries e JOIN lots l ON l.dedupe_key = e.dedupe_key
),
balances AS (
    UPDATE points_account a
    SET balance = a.balance + t.total, lifetime_earned = a.lifetime_earned + t.total,
        version = a.version + t.count, updated_at = %(now)s
    FROM (SELECT account_id, SUM(amount) AS total, COUNT(*) AS count FROM entries GROUP BY account_id) t
    WHERE a.id = t.account_id
)
SELECT COUNT(*) FROM entries
"""

OPEN_BATCH = 20_000


def ledger_open_many(*, lots: list[OpeningLot], kind: str, source: Source, actor: User | None,
                     at: datetime) -> int:
    """Credit opening balances at volume, each lot with its own entry (dated `lot.at`), its own
    expiry and its own dedupe key (which must be set and unique), in a few set-based statements:
    the accounts (any asset) are opened where missing and locked in id order, then each batch of
    lots is written in one statement, an account's lots in the order given. `at` is when they are
    recorded. Returns the number of lots written. The caller holds the transaction."""
    lots = [lot for lot in lots if lot.amount > 0]
    if not lots:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_ACCOUNTS_SQL, {"members": [lot.member_id for lot in lots],
                                            "assets": [str(lot.asset) for lot in lots]})
        written = 0
        for start in range(0, len(lots), OPEN_BATCH):
            batch = lots[start:start + OPEN_BATCH]
            cursor.execute(_OPEN_LOTS_SQL, {
                "members": [lot.member_id for lot in batch], "assets": [str(lot.asset) for lot in batch],
                "amounts": [lot.amount for lot in batch], "ats": [lot.at for lot in batch],
                "expiries": [lot.expires_at for lot in batch], "reasons": [lot.reason for lot in batch],
                "keys": [lot.dedupe_key for lot in batch], "kind": kind, "source_type": source.type,
                "source_id": str(source.id), "actor": actor.pk if actor else None, "now": at})
            written += cursor.fetchone()[0]
    return written


def lot_in_account(lot: Lot, account: Account) -> Lot | None:
    """The lot itself if it belongs to `account`, else the lot a member merge moved it to in
    `account` (following merges of merges), else None."""
    seen = 0
    while lot is not None and lot.account_id != account.pk and seen < 20:
        lot = Lot.objects.filter(moved_from=lot).order_by("id").first()
        seen += 1
    return lot if lot is not None and lot.account_id == account.pk else None


# A lot is spendable at an instant when it has value left, is available and has not expired; a
# debit takes spendable lots soonest-expiring first (lots that never expire last), then the oldest.
_SPENDABLE_SQL = ("points_lot.remaining > 0 AND points_lot.available_from <= %(at)s "
                  "AND (points_lot.expires_at IS NULL OR points_lot.expires_at > %(at)s)")
_DEBIT_ORDER = (F("expires_at").asc(nulls_last=True), "available_from", "id")
_LOT_COLUMNS = tuple(field.column for field in Lot._meta.concrete_fields)

_LOTS_SPENDABLE_SQL = f"""
SELECT {", ".join(_LOT_COLUMNS)} FROM points_lot
WHERE points_lot.account_id = ANY(%(accounts)s::bigint[]) AND {_SPENDABLE_SQL}
ORDER BY points_lot.expires_at ASC NULLS LAST, points_lot.available_from, points_lot.id
FOR UPDATE
"""  # noqa: S608 - built from constants


def _spendable(accounts: list[Account], at: datetime):
    """The lots of `accounts` spendable at `at`, in the order a debit takes them."""
    spendable = RawSQL(_SPENDABLE_SQL.replace("%(at)s", "%s"), [at, at],  # noqa: S611 - constant text
                       output_field=BooleanField())
    return Lot.objects.filter(spendable, account__in=accounts).order_by(*_DEBIT_ORDER)


def available_lots(account: Account, *, at: datetime, lock: bool = True):
    lots = _spendable([account], at)
    return lots.select_for_update() if lock else lots


def lots_spendable(accounts: list[Account], *, at: datetime) -> dict[int, list[Lot]]:
    """The spendable lots of several accounts at `at`, locked, each account's in the order a
    debit takes them, by account id, in one plain statement (checkout paying with the card reads
    them every time)."""
    found: dict[int, list[Lot]] = {account.pk: [] for account in accounts}
    with connection.cursor() as cursor:
        cursor.execute(_LOTS_SPENDABLE_SQL, {"accounts": [account.pk for account in accounts], "at": at})
        for row in cursor.fetchall():
            lot = Lot.from_db(connection.alias, _LOT_COLUMNS, row)
            found[lot.account_id].append(lot)
    return found


def available_balance(account: Account, *, at: datetime | None = None) -> int:
    at = at or timezone.now()
    return available_lots(account, at=at, lock=False).aggregate(total=Sum("remaining"))["total"] or 0


def _lots_for_debit(account: Account, at: datetime, first_lots: list[Lot]) -> list[Lot]:
    """`first_lots` (of this account, with points left and not expired, pending or not) in their
    order, then the spendable lots soonest-expiring first."""
    first_ids = [lot.pk for lot in first_lots if lot is not None and lot.account_id == account.pk]
    first = {lot.pk: lot for lot in (Lot.objects.select_for_update()
                                     .filter(pk__in=first_ids, remaining__gt=0)
                                     .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at)))}
    lots = [first[pk] for pk in dict.fromkeys(first_ids) if pk in first]
    return lots + [lot for lot in available_lots(account, at=at) if lot.pk not in first]


def ledger_debit(*, account: Account, amount: int, kind: str, source: Source, actor: User | None,
                 reason: str = "", dedupe_key: str | None = None, at: datetime | None = None,
                 first_lot: Lot | None = None, allow_partial: bool = False,
                 first_lots: list[Lot] | None = None) -> Entry | None:
    """Take value from available lots, soonest-expiring first. `first_lots` (or `first_lot`) go
    first, and may be taken while still pending; this is how a refund takes back a visit's own
    points. Refuses with InsufficientBalance unless `allow_partial`, which takes what there is."""
    if amount <= 0:
        raise ValidationError(_("A debit must be a positive number of points."))
    _guard(dedupe_key)
    at = at or timezone.now()
    lots = _lots_for_debit(account, at, [*(first_lots or []), *([first_lot] if first_lot else [])])
    available = sum(lot.remaining for lot in lots)
    if available < amount:
        if not allow_partial:
            raise InsufficientBalance(available=available, wanted=amount)
        amount = available
        if amount == 0:
            return None
    return _debit_write(account, lots, amount, kind=kind, source=source, actor=actor, reason=reason,
                        dedupe_key=dedupe_key, at=at)


def ledger_reverse(*, account: Account, amount: int, source: Source, actor: User | None,
                   reason: Callable[[int], str], at: datetime, first_lots: list[Lot],
                   dedupe_key: str | None = None) -> tuple[int, int]:
    """Take back up to `amount` points credited before: from `first_lots` first (pending or
    not), then from spendable lots. What cannot be taken (already spent or expired) is the
    shortfall. `reason(shortfall)` gives the entry's reason. Returns (taken, shortfall)."""
    if amount <= 0:
        return 0, 0
    _guard(dedupe_key)
    lots = _lots_for_debit(account, at, first_lots)
    taken = min(amount, sum(lot.remaining for lot in lots))
    if taken:
        _debit_write(account, lots, taken, kind=Entry.Kind.REVERSE, source=source, actor=actor,
                     reason=reason(amount - taken)[:255], dedupe_key=dedupe_key, at=at)
    return taken, amount - taken


def ledger_restore(*, account: Account, debit: Entry, amount: int, source: Source,
                   actor: User | None, reason: str = "", at: datetime | None = None,
                   fresh_expiry: datetime | None = None) -> Entry | None:
    """Give back up to `amount` of what a debit took, into the lots it came from (their own
    expiry), in `account`: a lot a member merge moved is given back in the lot it was moved to.
    What cannot go back into its lot (expired meanwhile, or not in this account) is given back
    as a new lot expiring at `fresh_expiry`."""
    at = at or timezone.now()
    already = (Entry.objects.filter(kind=Entry.Kind.RESTORE, source_type="restore-of",
                                    source_id=str(debit.pk)).aggregate(total=Sum("amount"))["total"] or 0)
    amount = min(amount, -debit.amount - already)
    if amount <= 0:
        return None
    entry = _append(account, kind=Entry.Kind.RESTORE, amount=amount,
                    source=Source("restore-of", str(debit.pk)), actor=actor,
                    reason=reason or f"{source.type}:{source.id}", dedupe_key=None, at=at)
    left = amount
    expired_total = 0
    for allocation in debit.allocations.select_related("lot").order_by("-lot__expires_at", "-id"):
        if left == 0:
            break
        lot = lot_in_account(Lot.objects.select_for_update().get(pk=allocation.lot_id), account)
        if lot is not None:
            lot = Lot.objects.select_for_update().get(pk=lot.pk)
        room = allocation.amount if lot is None else min(allocation.amount, lot.amount - lot.remaining)
        give = min(room, left)
        if give <= 0:
            continue
        if lot is None or (lot.expires_at is not None and lot.expires_at <= at):
            expired_total += give
        else:
            lot.remaining += give
            lot.save(update_fields=["remaining"])
            Allocation.objects.create(entry=entry, lot=lot, amount=give)
        left -= give
    expired_total += left
    if expired_total:
        Lot.objects.create(account=account, entry=entry, amount=expired_total,
                           remaining=expired_total, available_from=at, expires_at=fresh_expiry)
    _save(account)
    return entry


def ledger_move_lot(*, lot: Lot, target: Account, source: Source, actor: User | None,
                    reason: str, at: datetime | None = None) -> Entry:
    """Move what is left of a lot to another account (member merge), keeping its availability
    and expiry. Both accounts must be locked by the caller."""
    at = at or timezone.now()
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    amount = lot.remaining
    _debit_write(lot.account, [lot], amount, kind=Entry.Kind.TRANSFER, source=source, actor=actor,
                 reason=reason, dedupe_key=None, at=at)
    return ledger_credit(account=target, amount=amount, kind=Entry.Kind.TRANSFER, source=source,
                         actor=actor, reason=reason, available_from=lot.available_from,
                         expires_at=lot.expires_at, at=at, counts_as_earned=False, moved_from=lot)


def lots_expire(*, now: datetime | None = None, accounts_per_batch: int = 20_000) -> int:
    """Expire every lot whose time has come, in set-based SQL: one `expire` entry per lot
    (guarded by a unique dedupe key), lots emptied and balances lowered in the same
    transaction. Accounts are locked first, in id order, as every other ledger write does (the
    account lock is what guards the account's lots, so the lots are not locked again). Batches
    walk the accounts in id order; a last pass from the start catches lots that fell due behind.
    Safe to run again or after a crash: a lot is expired once. Returns the lots expired."""
    now = now or timezone.now()
    total = 0
    after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_LOCK_DUE_ACCOUNTS_SQL, {"now": now, "after": after, "limit": accounts_per_batch})
            account_ids = [row[0] for row in cursor.fetchall()]
            if account_ids:
                cursor.execute(_EXPIRE_SQL, {"now": now, "accounts": account_ids})
                total += cursor.fetchone()[0]
        if account_ids:
            after = account_ids[-1]
        elif after == 0:
            return total
        else:
            # One more pass from the start, for lots that became due behind the cursor.
            after = 0


_LOCK_DUE_ACCOUNTS_SQL = """
SELECT a.id FROM points_account a
WHERE a.id IN (
    SELECT DISTINCT l.account_id FROM points_lot l
    WHERE l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %(now)s
      AND l.account_id > %(after)s
    ORDER BY l.account_id LIMIT %(limit)s
)
ORDER BY a.id
FOR UPDATE
"""

_EXPIRE_SQL = """
WITH due AS (
    SELECT l.id, l.account_id, l.remaining
    FROM points_lot l
    WHERE l.account_id = ANY(%(accounts)s)
      AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %(now)s
),
numbered AS (
    SELECT d.id, d.account_id, d.remaining,
           a.balance - SUM(d.remaining) OVER (PARTITION BY d.account_id ORDER BY d.id) AS after
    FROM due d JOIN points_account a ON a.id = d.account_id
),
entries AS (
    INSERT INTO points_entry (account_id, kind, amount, balance_after, source_type, source_id,
                              reason, dedupe_key, effective_at, created_at)
    SELECT n.account_id, 'expire', -n.remaining, n.after, 'lot', n.id::text, '',
           'expire:lot:' || n.id, %(now)s, now()
    FROM numbered n
    ORDER BY n.account_id, n.id
    RETURNING id, amount, source_id
),
allocations AS (
    INSERT INTO points_allocation (entry_id, lot_id, amount)
    SELECT e.id, e.source_id::bigint, -e.amount FROM entries e
),
emptied AS (
    UPDATE points_lot l SET remaining = 0 FROM due d WHERE l.id = d.id
),
balances AS (
    UPDATE points_account a
    SET balance = a.balance - t.total, version = a.version + 1, updated_at = now()
    FROM (SELECT account_id, SUM(remaining) AS total FROM due GROUP BY account_id) t
    WHERE a.id = t.account_id
)
SELECT COUNT(*) FROM entries
"""
