"""Stored value at 100,000 members: opening balances written through points.ledger.ledger_open_many
(what the balances import does), then the prepaid liability report as of today and as of 90 days
ago, and the renewal rate of a quarter, as the Insights page and the API compute them."""

import random
import statistics
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from members.models import Member
from points.ledger import OpeningLot, Source, ledger_open_many
from points.models import Asset, Entry
from points.rules import local_date
from storedvalue.selectors import liability_report, renewal_rate

MEMBERS = 100_000
RUNS = 5
TARGET_MS = 300


def _lots(member_ids: list[int], now) -> list[OpeningLot]:
    """Per member: a paid-in lot and its bonus a year or less ago, and a second top-up for a third of them."""
    rng = random.Random(5)
    lots = []
    for pk in member_ids:
        first = now - timedelta(days=rng.randint(30, 400))
        paid = rng.choice((100_000, 300_000, 500_000, 1_000_000))
        lots.append(OpeningLot(pk, Asset.STORED_VALUE_PRINCIPAL, paid, first, None, "", f"b:p1:{pk}"))
        lots.append(OpeningLot(pk, Asset.STORED_VALUE_BONUS, paid // 10, first, first + timedelta(days=365), "",
                               f"b:b1:{pk}"))
        if pk % 3 == 0:
            again = now - timedelta(days=rng.randint(1, 29))
            lots.append(OpeningLot(pk, Asset.STORED_VALUE_PRINCIPAL, paid, again, None, "", f"b:p2:{pk}"))
    return lots


def _median_ms(run) -> float:
    times = []
    for _n in range(RUNS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> list[Figure]:
    clinic = fresh_clinic("benchstoredvalue")
    try:
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            now = timezone.now()
            lots = _lots(list(Member.objects.values_list("pk", flat=True)), now)
            started = time.perf_counter()
            with transaction.atomic():
                written = ledger_open_many(lots=lots, kind=Entry.Kind.OPENING, source=Source("bench"), actor=None,
                                           at=now)
            write_seconds = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE points_account; ANALYZE points_entry; ANALYZE points_lot")
            today = local_date(now)
            total = sum(lot.amount for lot in lots)
            report = liability_report(as_of=today)
            if report.sections[0].total * 100 != total or not report.sections[0].reconciles:
                raise RuntimeError(f"liability {report.sections[0].total} disagrees with the {total} cents written")
            today_ms = _median_ms(lambda: liability_report(as_of=today))
            past_ms = _median_ms(lambda: liability_report(as_of=today - timedelta(days=90),
                                                          since=today - timedelta(days=180)))
            renewal_ms = _median_ms(lambda: renewal_rate(start=now - timedelta(days=90), end=now))
        return [
            Figure(f"opening balances: {written:,} lots via ledger_open_many", write_seconds, note="reference"),
            Figure(f"liability report as of today, {MEMBERS:,} members", today_ms, unit="ms", target=TARGET_MS),
            Figure("liability report as of 90 days ago (180 days of movements)", past_ms, unit="ms",
                   target=TARGET_MS),
            Figure("renewal rate of a quarter", renewal_ms, unit="ms", note="reference"),
        ]
    finally:
        drop_clinic(clinic)
