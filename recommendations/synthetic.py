"""A seeded synthetic clinic history with known structure, to measure recommendations against
(docs/recommendations.md, "The synthetic data set"):

- **true repeat cycles**: each member takes up one to three of the cyclic treatments (weighted by
  their appeal) and repeats each at its true cycle, with a gap drawn from a normal distribution
  (sd CYCLE_SD of the cycle) and a chance STOP of stopping after each session;
- **true co-purchase pairs**: a purchase of the first item of a pair is followed, with the pair's
  probability, by the second one: in the same visit (half of the time) or 1 to 14 days later;
- **noise**: every member also buys random items (weighted by their appeal) at NOISE_PER_YEAR a
  year, which is most of what plain popularity learns from.

Members join at a uniform day over the HISTORY_DAYS before the end. `history()` returns the
purchases; `history_write()` writes them as imported visits (one visit per member and day).
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

HISTORY_DAYS = 730
CYCLE_SD = 0.15
STOP = 0.2
NOISE_PER_YEAR = 2.0


@dataclass(frozen=True)
class SyntheticItem:
    sku: str
    name: str
    kind: str
    price: str
    appeal: float  # relative weight for interests and noise
    cycle: int | None = None  # true repeat cycle in days


CATALOGUE = (
    SyntheticItem("S-BTX", "肉毒素除皱", "treatment", "2800.00", 3, 120),
    SyntheticItem("S-HA", "玻尿酸填充", "treatment", "4800.00", 2, 270),
    SyntheticItem("S-HYD", "水光针补水", "treatment", "1680.00", 4, 30),
    SyntheticItem("S-CLN", "深层清洁护理", "treatment", "398.00", 5, 21),
    SyntheticItem("S-IPL", "光子嫩肤", "treatment", "1280.00", 4, 45),
    SyntheticItem("S-PICO", "皮秒祛斑", "treatment", "3600.00", 2, 60),
    SyntheticItem("S-RF", "射频紧致", "treatment", "5800.00", 1, 180),
    SyntheticItem("S-HAIR", "激光脱毛", "treatment", "880.00", 2, 40),
    SyntheticItem("S-PEEL", "果酸焕肤", "treatment", "580.00", 2),
    SyntheticItem("S-CONS", "皮肤检测咨询", "treatment", "0.00", 3),
    SyntheticItem("P-MASK", "医用修护面膜", "product", "268.00", 3),
    SyntheticItem("P-SPF", "防晒霜 SPF50", "product", "198.00", 4),
    SyntheticItem("P-SER", "玻尿酸精华液", "product", "458.00", 2),
    SyntheticItem("P-GEL", "术后修复凝胶", "product", "328.00", 1),
    SyntheticItem("P-CLN", "氨基酸洁面", "product", "128.00", 3),
    SyntheticItem("P-EYE", "眼霜", "product", "398.00", 2),
)
# (first, then, probability): after the first, the second follows within 14 days.
PAIRS = (
    ("S-IPL", "P-MASK", 0.5),
    ("S-PICO", "P-SPF", 0.6),
    ("S-PICO", "P-GEL", 0.4),
    ("S-HYD", "P-SER", 0.45),
    ("S-BTX", "P-EYE", 0.3),
    ("S-HAIR", "P-CLN", 0.3),
)


def history(*, members: int, seed: int, end: datetime) -> list[tuple[int, datetime, str]]:
    """(member index, time, sku) purchases before `end`, sorted by member and time."""
    rng = random.Random(seed)
    cyclic = [item for item in CATALOGUE if item.cycle]
    everything = list(CATALOGUE)
    follow = {}
    for first, then, chance in PAIRS:
        follow.setdefault(first, []).append((then, chance))
    purchases = []
    for member in range(members):
        joined = rng.uniform(0, HISTORY_DAYS)
        days: list[tuple[float, str]] = []
        interests = {item.sku: item for item in rng.choices(cyclic, weights=[i.appeal for i in cyclic],
                                                             k=rng.choice((1, 1, 2, 3)))}
        for item in interests.values():
            day = joined + rng.uniform(0, 60)
            while day < HISTORY_DAYS:
                days.append((day, item.sku))
                if rng.random() < STOP:
                    break
                day += max(1.0, rng.gauss(item.cycle, CYCLE_SD * item.cycle))
        day = joined + rng.expovariate(NOISE_PER_YEAR / 365)
        while day < HISTORY_DAYS:
            days.append((day, rng.choices(everything, weights=[i.appeal for i in everything])[0].sku))
            day += rng.expovariate(NOISE_PER_YEAR / 365)
        for day, sku in list(days):
            for then, chance in follow.get(sku, ()):
                if rng.random() < chance:
                    later = day if rng.random() < 0.5 else day + rng.randint(1, 14)
                    if later < HISTORY_DAYS:
                        days.append((later, then))
        start = end - timedelta(days=HISTORY_DAYS)
        for day, sku in sorted(days):
            purchases.append((member, start + timedelta(days=int(day), hours=10 + int(day % 1 * 8)), sku))
    return purchases


def history_write(*, member_ids: list[int], purchases: list[tuple[int, datetime, str]]) -> tuple[int, int]:
    """Write the purchases as imported visits of the members (index → id), one visit per member
    and time, items from the catalogue by SKU (created if missing). Returns (visits, lines)."""
    from visits.models import CatalogueItem, Category

    category, _created = Category.objects.get_or_create(code="synthetic", defaults={"name": "合成数据"})
    items = {}
    for spec in CATALOGUE:
        items[spec.sku], _created = CatalogueItem.objects.get_or_create(
            sku=spec.sku, defaults={"kind": spec.kind, "name": spec.name, "category": category,
                                    "price": Decimal(spec.price),
                                    "duration_minutes": 30 if spec.kind == "treatment" else None})
    visits: dict[tuple[int, datetime], list[str]] = {}
    for member, at, sku in purchases:
        visits.setdefault((member, at), []).append(sku)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('visits_visit_id_seq', nextval('visits_visit_id_seq') + %s)", [len(visits)])
        last = cursor.fetchone()[0]
        first_id = last - len(visits) + 1
        columns = ("id, member_id, visited_at, staff_id, source, subtotal, line_discount, tier_discount, "
                   "coupon_discount, points_used, points_discount, total, refunded_total, external_ref, created_at")
        lines = []
        with cursor.copy(f"COPY visits_visit ({columns}) FROM STDIN") as copy:
            for offset, ((member, at), skus) in enumerate(visits.items()):
                total = sum(items[sku].price for sku in skus)
                copy.write_row((first_id + offset, member_ids[member], at, None, "import", total, 0, 0, 0, 0, 0,
                                total, 0, "", at))
                lines.extend((first_id + offset, items[sku]) for sku in skus)
        with cursor.copy("COPY visits_visitline (visit_id, item_id, name, category_id, quantity, unit_price, "
                         "discount, line_total, refunded_quantity, points_earned) FROM STDIN") as copy:
            for visit_id, item in lines:
                copy.write_row((visit_id, item.pk, item.name, item.category_id, 1, item.price, 0, item.price, 0, 0))
        cursor.execute("ANALYZE visits_visit")
        cursor.execute("ANALYZE visits_visitline")
    return len(visits), len(lines)
