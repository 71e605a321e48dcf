"""Leave-last-visit-out evaluation of the recommendations against plain popularity
(docs/recommendations.md, "How well it works").

For every active member with at least MIN_VISITS visits (with a catalogue item not refunded in
full), the last visit is hidden. The signals are learned from the visits before the first instant
of the hidden visit's local month (`signals_learn(before=…)`, the nightly learning itself), and
the member's recommendations are asked for as of the hidden visit's time: they see the member's
own visits before it and nothing after. A hit is a recommended item among the hidden visit's
items. Plain popularity recommends the K items most bought by all members in the same period
(the popularity the learning stored for everyone). Everything runs in a transaction that is
rolled back: the clinic's stored signals are left as they were.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from members.models import Member
from points.rules import clinic_zone
from recommendations.learning import signals_learn
from recommendations.selectors import member_recommendations, popular_items

K = 5
MIN_VISITS = 3


@dataclass
class Score:
    hits: int = 0
    reciprocal_ranks: float = 0.0

    def add(self, recommended: list[int], bought: set[int]) -> None:
        for rank, item_id in enumerate(recommended[:K], start=1):
            if item_id in bought:
                self.hits += 1
                self.reciprocal_ranks += 1 / rank
                return


@dataclass
class Evaluation:
    members: int = 0
    ours: Score = field(default_factory=Score)
    popularity: Score = field(default_factory=Score)
    by_signal: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def rate(self, score: Score) -> tuple[float, float]:
        """(hit rate@K, MRR@K)."""
        if not self.members:
            return 0.0, 0.0
        return score.hits / self.members, score.reciprocal_ranks / self.members

    def lines(self) -> list[str]:
        ours, popular = self.rate(self.ours), self.rate(self.popularity)
        hits = ", ".join(f"{signal} {count}" for signal, count in sorted(self.by_signal.items()))
        return [f"members evaluated: {self.members}",
                f"ours:       hit rate@{K} {ours[0]:.3f}, MRR@{K} {ours[1]:.3f}",
                f"popularity: hit rate@{K} {popular[0]:.3f}, MRR@{K} {popular[1]:.3f}",
                f"our first hits by signal: {hits or 'none'}"]


def _hidden_visits() -> list[tuple[int, datetime, set[int]]]:
    """(member id, time, items) of each evaluated member's last visit."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH counted AS (
                SELECT v.id, v.member_id, v.visited_at,
                       array_agg(DISTINCT l.item_id) AS items,
                       row_number() OVER (PARTITION BY v.member_id ORDER BY v.visited_at DESC, v.id DESC) AS back,
                       count(*) OVER (PARTITION BY v.member_id) AS visits
                FROM visits_visit v JOIN visits_visitline l ON l.visit_id = v.id
                JOIN members_member m ON m.id = v.member_id AND m.status = 'active'
                WHERE l.item_id IS NOT NULL AND l.refunded_quantity < l.quantity
                GROUP BY v.id)
            SELECT member_id, visited_at, items FROM counted WHERE back = 1 AND visits >= %s
            ORDER BY visited_at""", [MIN_VISITS])
        return [(member_id, at, set(items)) for member_id, at, items in cursor.fetchall()]


def recommendations_evaluate() -> Evaluation:
    zone = clinic_zone()
    by_month: dict[datetime, list[tuple[int, datetime, set[int]]]] = defaultdict(list)
    for member_id, at, items in _hidden_visits():
        local = timezone.localtime(at, zone)
        by_month[local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)].append((member_id, at, items))
    result = Evaluation()
    with transaction.atomic():
        for cutoff in sorted(by_month):
            signals_learn(before=cutoff)
            baseline = popular_items(tier_id=None, limit=K)
            members = Member.objects.in_bulk([member_id for member_id, _at, _items in by_month[cutoff]])
            for member_id, at, items in by_month[cutoff]:
                recs = member_recommendations(member=members[member_id], as_of=at, limit=K)
                result.members += 1
                result.ours.add([rec.item.pk for rec in recs], items)
                result.popularity.add(baseline, items)
                first_hit = next((rec for rec in recs if rec.item.pk in items), None)
                if first_hit is not None:
                    result.by_signal[first_hit.signal] += 1
        transaction.set_rollback(True)
    return result
