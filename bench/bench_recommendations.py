"""Recommendations (docs/recommendations.md):

- the leave-last-visit-out evaluation (hit rate@5, MRR@5, ours and plain popularity) on the
  seeded synthetic history with known cycles and pairs (recommendations/synthetic.py) and on the
  demo clinic's history (clinics/demo.py, seeded afresh in a throwaway clinic);
- the nightly learning at 100,000 members and about 1,000,000 visit lines of the synthetic
  history, and a member's recommendations (one query) at that size.

BENCH_RECS_ONLY=scale leaves out the evaluations; BENCH_RECS_SCALE scales the members.
"""

import os
import statistics
import time
from datetime import UTC, datetime

from django.db import connection
from django_tenants.utils import schema_context

from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from members.models import Member
from recommendations import synthetic
from recommendations.evaluation import K, recommendations_evaluate
from recommendations.learning import recommendations_learn
from recommendations.selectors import _params, _scores_sql, member_recommendations

SCALE = float(os.environ.get("BENCH_RECS_SCALE", "1"))
MEMBERS = int(100_000 * SCALE)
EVAL_MEMBERS = 5_000
END = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LEARN_TARGET_S = 120.0
QUERY_TARGET_MS = 20.0


def _synthetic_clinic(slug: str, members: int, seed: int):
    clinic = fresh_clinic(slug)
    members_fill(clinic, members, seed=seed)
    with schema_context(clinic.schema_name):
        ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
        visits, lines = synthetic.history_write(
            member_ids=ids, purchases=synthetic.history(members=members, seed=seed, end=END))
    return clinic, visits, lines


def _evaluation_figures(label: str, result) -> list[Figure]:
    (ours_hit, ours_mrr), (pop_hit, pop_mrr) = result.rate(result.ours), result.rate(result.popularity)
    note = f"{result.members:,} members; popularity {{:.3f}}"
    return [Figure(f"{label}: ours hit rate@{K}", ours_hit, unit="", note=note.format(pop_hit)),
            Figure(f"{label}: ours MRR@{K}", ours_mrr, unit="", note=note.format(pop_mrr))]


def main() -> list[Figure]:
    figures = []
    if os.environ.get("BENCH_RECS_ONLY") != "scale":
        figures += _evaluations()
    started = time.perf_counter()
    clinic, visits, lines = _synthetic_clinic("benchrecs", MEMBERS, seed=2026)
    print(f"  ({lines:,} visit lines in {visits:,} visits of {MEMBERS:,} members generated in "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    try:
        with schema_context(clinic.schema_name):
            figures += _measure(lines)
    finally:
        drop_clinic(clinic)
    return figures


def _evaluations() -> list[Figure]:
    figures = []
    clinic, _visits, _lines = _synthetic_clinic("benchrecseval", EVAL_MEMBERS, seed=23)
    try:
        with schema_context(clinic.schema_name):
            result = recommendations_evaluate()
        for line in result.lines():
            print(f"  synthetic: {line}", flush=True)
        figures += _evaluation_figures("synthetic", result)
    finally:
        drop_clinic(clinic)

    figures += _demo_evaluation()
    return figures


def _demo_evaluation() -> list[Figure]:
    from clinics.platform.demo import DEMO_CLINIC_SLUG, demo_seed

    connection.set_schema_to_public()
    started = time.perf_counter()
    clinic, _created = demo_seed()
    print(f"  (demo clinic seeded in {time.perf_counter() - started:.0f} s)", flush=True)
    try:
        with schema_context(DEMO_CLINIC_SLUG):
            result = recommendations_evaluate()
        for line in result.lines():
            print(f"  demo: {line}", flush=True)
        return _evaluation_figures("demo", result)
    finally:
        drop_clinic(clinic)


def _measure(lines: int) -> list[Figure]:
    started = time.perf_counter()
    learning = recommendations_learn(now=END)
    learn_s = time.perf_counter() - started
    print(f"  learned {learning.intervals} intervals, {learning.associations} pairs, {learning.popular} popular rows",
          flush=True)
    members = list(Member.objects.order_by("?")[:300])
    timings = []
    for member in members:
        started = time.perf_counter()
        member_recommendations(member=member, as_of=END)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    planning, execution = _server_times(members[:100])
    return [
        Figure(f"nightly learning, {MEMBERS:,} members, {lines:,} lines", learn_s, target=LEARN_TARGET_S),
        Figure("a member's recommendations, median", statistics.median(timings), unit="ms",
               target=QUERY_TARGET_MS),
        Figure("a member's recommendations, 95th percentile", timings[int(len(timings) * 0.95)], unit="ms",
               target=QUERY_TARGET_MS),
        Figure("  in the server: planning, median", statistics.median(planning), unit="ms",
               note="EXPLAIN ANALYZE; the prepared statement keeps its plan"),
        Figure("  in the server: execution, median", statistics.median(execution), unit="ms",
               note="EXPLAIN ANALYZE"),
    ]


def _server_times(members: list[Member]) -> tuple[list[float], list[float]]:
    """Planning and execution times as PostgreSQL measures them (EXPLAIN ANALYZE), which a busy
    machine inflates less than the time seen by the client."""
    sql = _scores_sql(one_member=True, one_item=False) + " ORDER BY b.score DESC, b.item_id LIMIT %(limit)s"
    planning, execution = [], []
    with connection.cursor() as cursor:
        for member in members:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, _params(END, member=member.pk, limit=5, kind=None))
            plan = cursor.fetchone()[0][0]
            planning.append(plan["Planning Time"])
            execution.append(plan["Execution Time"])
    return planning, execution
