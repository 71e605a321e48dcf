"""The compiled query against a plain-Python evaluation of the same definition, for random
definitions over random visits: the per-member aggregates (spend, visit count, last and first
visit, bought) are correlated subqueries and index reads, or one grouping of the visits for all of
them (docs/segments.md, Performance), read from the visits or from the rollups (the latest and first
visit days, what was bought per day); this proves every form counts exactly what the rules of
docs/segments.md say, with negation, "any of" groups, members without visits and refunds."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

import segments.conditions
from checkout.services import visit_refund
from points.rules import clinic_zone
from segments.conditions import Context, conditions_clean
from segments.selectors import segment_preview


def _since(at: datetime, days: int) -> datetime:
    """Local midnight `days` local days before the local date of `at`."""
    return datetime.combine(at.astimezone(clinic_zone()).date() - timedelta(days=days), time.min, tzinfo=clinic_zone())


def _matches(condition: dict, member, visits: list[tuple[datetime, Decimal, str]], at: datetime) -> bool:
    """Whether the member matches one condition, worked out from their visits in Python."""
    seen = [v for v in visits if v[0] <= at]
    kind = condition["kind"]
    if kind in ("spend", "visit_count", "bought"):
        days = condition.get("days")
        window = [v for v in seen if days is None or v[0] >= _since(at, days)]
        if kind == "bought":
            result = any(category in condition["categories"] for _at, _total, category in window)
        else:
            value = sum(total for _at, total, _c in window) if kind == "spend" else len(window)
            result = (condition.get("min") is None or value >= Decimal(str(condition["min"]))) and (
                condition.get("max") is None or value <= Decimal(str(condition["max"]))
            )
    elif kind == "last_visit":
        last = max((v[0] for v in seen), default=None)
        since = _since(at, condition["days"])
        if condition["op"] == "within_days":
            result = last is not None and last >= since
        else:
            result = last is not None and last < since
    elif kind == "first_visit":
        first = min((v[0] for v in seen), default=None)
        if condition["op"] == "never":
            result = first is None
        else:
            result = first is not None and first >= _since(at, condition["days"])
    elif kind == "tag":
        result = bool(set(member.tags) & set(condition["tags"]))
    else:
        raise AssertionError(kind)
    return result != condition.get("negate", False)


def _random_condition(rng: random.Random, categories: list[int]) -> dict:
    kind = rng.choice(["spend", "visit_count", "last_visit", "first_visit", "bought", "tag"])
    days = rng.choice([None, 7, 30, 90, 200])
    if kind == "spend":
        low, high = rng.choice([(None, 800), (500, None), (300, 2000), (1000, None)])
        condition = {"kind": kind, "min": low, "max": high, "days": days}
    elif kind == "visit_count":
        low, high = rng.choice([(None, 1), (2, None), (1, 3), (3, None), (None, 0)])
        condition = {"kind": kind, "min": low, "max": high, "days": days}
    elif kind == "last_visit":
        condition = {
            "kind": kind,
            "op": rng.choice(["within_days", "more_than_days"]),
            "days": rng.choice([0, 10, 45, 120]),
        }
    elif kind == "first_visit":
        condition = (
            {"kind": kind, "op": "never"}
            if rng.random() < 0.3
            else {"kind": kind, "op": "within_days", "days": rng.choice([30, 100, 250])}
        )
    elif kind == "bought":
        condition = {"kind": kind, "categories": rng.sample(categories, rng.choice([1, 2])), "days": days}
    else:
        condition = {"kind": kind, "tags": [rng.choice(["vip", "new", "投诉"])]}
    condition = {k: v for k, v in condition.items() if v is not None}
    if rng.random() < 0.25:
        condition["negate"] = True
    return condition


@pytest.mark.parametrize("source", ["visits", "rollups"])
@pytest.mark.parametrize("form", ["correlated", "grouped"])
@pytest.mark.parametrize("seed", [11, 29])
def test_compiled_counts_equal_a_python_count(seed, form, source, make_member, catalogue, visit, at, front_desk,
                                              monkeypatch):
    # The same definitions through each form, whichever the rule would choose.
    monkeypatch.setattr(segments.conditions, "_grouped_wanted", lambda items, kinds=None: form == "grouped")
    rng = random.Random(seed)
    items = [catalogue["ipl"], catalogue["peel"], catalogue["cream"]]
    members, visits = [], {}
    for n in range(14):
        member = make_member(f"会员{n}")
        member.tags = rng.sample(["vip", "new", "投诉"], rng.choice([0, 0, 1, 2]))
        member.save(update_fields=["tags"])
        members.append(member)
        visits[member.pk] = []
        for _ in range(rng.choice([0, 1, 2, 3, 5])):
            item = rng.choice(items)
            # Up to 300 days before `at`, and from the visits, now and then a visit after it
            # (never counted; the rollups are read only when no visit is later than `at`).
            when = at - timedelta(minutes=rng.randint(-3000 if source == "visits" else 1, 300 * 24 * 60))
            quantity = rng.choice([1, 1, 2])
            made = visit(member, item, when, quantity=quantity)
            refund = rng.random()
            if refund < 0.15:
                # Refunded in full: the visit is not counted at all.
                visit_refund(
                    visit=made,
                    lines=[(made.lines.get().pk, quantity)],
                    reason="退款",
                    actor=front_desk,
                    at=when + timedelta(minutes=5),
                )
                continue
            if refund < 0.3 and quantity == 2:
                # One of two refunded: counted, with half the spend.
                visit_refund(
                    visit=made,
                    lines=[(made.lines.get().pk, 1)],
                    reason="退一个",
                    actor=front_desk,
                    at=when + timedelta(minutes=5),
                )
                made.refresh_from_db()
            visits[member.pk].append((when, made.total - made.refunded_total, item.category_id))
    if source == "visits":
        visit(members[0], items[0], at + timedelta(minutes=1))
    assert Context.of(at).rollups == (source == "rollups")
    categories = [catalogue["lasers"].pk, catalogue["skincare"].pk]
    for _ in range(30):
        items_ = []
        for _ in range(rng.choice([1, 2, 3, 4])):
            if rng.random() < 0.3:
                group = [_random_condition(rng, categories) for _ in range(rng.choice([2, 3]))]
                items_.append({"any": group, "negate": rng.random() < 0.2})
            else:
                items_.append(_random_condition(rng, categories))
        definition = {"all": items_}
        expected = sum(
            1
            for m in members
            if all(
                (any(_matches(c, m, visits[m.pk], at) for c in item["any"]) != item["negate"])
                if "any" in item
                else _matches(item, m, visits[m.pk], at)
                for item in items_
            )
        )
        count, _sample = segment_preview(conditions=conditions_clean(definition), at=at, limit=1)
        assert count == expected, definition


def test_the_rule_choosing_the_grouped_form():
    spend = {"kind": "spend", "min": "100.00", "max": None, "days": 30}
    last = {"kind": "last_visit", "op": "more_than_days", "days": 60}
    count = {"kind": "visit_count", "min": 5, "max": None, "days": 365}
    bought = {"kind": "bought", "items": [], "categories": [1], "item_kind": None, "days": 365}
    vip = {"kind": "tag", "tags": ["vip"], "match": "any"}
    wanted = segments.conditions._grouped_wanted
    # One aggregate condition: correlated.
    assert not wanted([spend, bought])
    # Two at the top level (one in a group made only of them), with a "bought" and a negated
    # tag: grouped.
    assert wanted([bought, last, {"any": [spend, count], "negate": True}, {**vip, "negate": True}])
    # The second in a group with other options (tested only for members those leave): correlated.
    assert not wanted([bought, last, {"any": [vip, count], "negate": False}])
    # Two, but a plain top-level condition narrows the members first: correlated.
    assert not wanted([spend, last, vip])
