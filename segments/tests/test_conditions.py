"""Each condition kind against hand-built members: who matches is worked out by hand below."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from segments.conditions import conditions_clean
from segments.selectors import members_matching
from segments.tests.conftest import local


def names(conditions, at):
    return sorted(m.name for m in members_matching(conditions=conditions_clean(conditions), at=at))


def one(kind, at, negate=False, **params):
    return names({"all": [{"kind": kind, "negate": negate, **params}]}, at)


def test_empty_definition_matches_every_active_member(make_member, at):
    make_member("甲")
    archived = make_member("乙")
    archived.status = "archived"
    archived.save()

    assert names({"all": []}, at) == ["甲"]


def test_spend_and_visit_count_in_a_window(make_member, catalogue, visit, at):
    a, b, c = make_member("A"), make_member("B"), make_member("C")
    visit(a, catalogue["ipl"], local(2026, 6, 1, 10))       # 800, 14 days ago
    visit(a, catalogue["peel"], local(2026, 1, 5, 10))      # 500, 161 days ago
    visit(b, catalogue["cream"], local(2026, 6, 10, 10))    # 300
    visit(b, catalogue["cream"], local(2026, 6, 11, 10))    # 300
    visit(c, catalogue["peel"], local(2026, 6, 16, 10))     # after `at`: never counted

    assert one("spend", at, min="1000") == ["A"]
    assert one("spend", at, min="1000", days=30) == []
    assert one("spend", at, min="500", days=30) == ["A", "B"]
    assert one("spend", at, max="600", days=30) == ["B", "C"]
    assert one("visit_count", at, min=2) == ["A", "B"]
    assert one("visit_count", at, min=2, days=30) == ["B"]
    assert one("visit_count", at, max=0) == ["C"]
    assert one("visit_count", at, min=1, negate=True) == ["C"]


def test_last_visit_boundaries_are_local_days(make_member, catalogue, visit, at):
    edge, inside = make_member("Edge"), make_member("Inside")
    make_member("Never")
    # `at` is 2026-06-15 local; 30 days before is 2026-05-16. A visit at 00:00 local that day is
    # 30 days ago, one a minute earlier is 31.
    visit(edge, catalogue["ipl"], local(2026, 5, 15, 23, 59))
    visit(inside, catalogue["ipl"], local(2026, 5, 16, 0, 0))

    assert one("last_visit", at, op="within_days", days=30) == ["Inside"]
    assert one("last_visit", at, op="more_than_days", days=30) == ["Edge"]
    assert one("last_visit", at, op="on_or_after", date="2026-05-16") == ["Inside"]
    assert one("last_visit", at, op="before", date="2026-05-16") == ["Edge"]
    assert one("first_visit", at, op="never") == ["Never"]
    assert one("first_visit", at, op="within_days", days=30) == ["Inside"]


def test_or_groups_and_negation(make_member, at):
    make_member("F", gender="female", birthday=date(1990, 6, 3))
    make_member("M", gender="male", birthday=date(1980, 1, 1))
    make_member("U")

    definition = {"all": [{"any": [{"kind": "gender", "genders": ["male"]},
                                   {"kind": "birthday_month", "relative": "current"}]}]}
    assert names(definition, at) == ["F", "M"]
    definition["all"][0]["negate"] = True
    assert names(definition, at) == ["U"]


@pytest.mark.parametrize("conditions, message", [
    ({"all": [{"kind": "nope"}]}, "unknown condition kind"),
    ({"all": [{"kind": "spend", "min": "500", "max": "100"}]}, "upper limit cannot be below"),
    ({"all": [{"kind": "spend"}]}, "lower limit, an upper limit"),
    ({"all": [{"any": []}]}, "at least one condition"),
    ({"all": [{"kind": "tier", "tiers": [999999]}]}, "do not exist"),
    ({"all": [{"kind": "age", "min": -1}]}, "between 0 and 150"),
    ({"any": []}, "a list “all”"),
])
def test_bad_definitions_are_refused_clearly(conditions, message, db):
    with pytest.raises(ValidationError) as error:
        conditions_clean(conditions)
    assert message in " ".join(error.value.messages)


def test_one_query(make_member, catalogue, visit, at, django_assert_num_queries):
    make_member("A")
    definition = conditions_clean({"all": [
        {"kind": "spend", "min": "100", "days": 365}, {"kind": "last_visit", "op": "within_days", "days": 90},
        {"kind": "tag", "tags": ["VIP"]}, {"kind": "consent", "purpose": "marketing_sms"},
        {"any": [{"kind": "lifecycle", "stages": ["active", "new"]},
                 {"kind": "rfm_cell", "cells": ["important_value"]}]},
        {"kind": "age", "min": 20, "max": 40}]})
    members = members_matching(conditions=definition, at=at)
    with django_assert_num_queries(1):
        assert members.count() == 0
