"""Member search at 100,000 members: the front desk types a phone, its last 4 digits, a name,
pinyin initials or a member number, and expects an answer before the next keystroke."""

import random
import time
from statistics import median, quantiles

from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from members.models import Member
from members.selectors import member_search

MEMBERS = 100_000
QUERIES_PER_KIND = 200
TARGET_MS = 20.0


def _timed(queries: list[str]) -> list[float]:
    timings = []
    for query in queries:
        started = time.perf_counter()
        member_search(query=query)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> list[Figure]:
    clinic = fresh_clinic("benchsearch")
    try:
        members_fill(clinic, MEMBERS)
        with schema_context(clinic.schema_name):
            rng = random.Random(3)
            sample = list(Member.objects.order_by("?").values("name", "phone", "member_number",
                                                               "name_initials")[:QUERIES_PER_KIND])
            kinds = {
                "full phone": [m["phone"][3:] for m in sample],
                "last 4 digits": [m["phone"][-4:] for m in sample],
                "name": [m["name"][:2] for m in sample],
                "pinyin initials": [m["name_initials"] for m in sample],
                "member number": [m["member_number"] for m in sample],
            }
            _timed([rng.choice(q) for q in kinds.values() for _ in range(20)])
            figures = []
            for kind, queries in kinds.items():
                timings = _timed(queries)
                p95 = quantiles(timings, n=20)[-1]
                figures.append(Figure(f"member search by {kind}, p95 at {MEMBERS:,} members", p95,
                                      unit="ms", target=TARGET_MS))
                figures.append(Figure(f"member search by {kind}, median", median(timings), unit="ms",
                                      note="reference"))
            return figures
    finally:
        drop_clinic(clinic)
