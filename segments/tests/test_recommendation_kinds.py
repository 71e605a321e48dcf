"""The segment conditions "recommended item X with score ≥ s" and "due for X", compiled from the
recommendations' nightly tables into the segment's one query. The members they match are checked
against hand-worked cases and against the per-member recommendations service itself."""

import math
import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import Member
from members.services import medical_profile_update
from recommendations.learning import recommendations_learn
from recommendations.models import ItemAssociation, ItemInterval, ItemPopularity
from recommendations.selectors import member_recommendations
from recommendations.tests.conftest import NOW, Shop, buy, days_ago, new_member, shop_make
from segments.conditions import conditions_clean
from segments.models import Segment
from segments.selectors import members_matching
from segments.tests.test_api import in_clinic_language
from visits.services import catalogue_item_update


@pytest.fixture
def shop(db) -> Shop:
    return shop_make()


def matched(*conditions, at=NOW) -> set[int]:
    return set(members_matching(conditions=conditions_clean({"all": list(conditions)}), at=at)
               .values_list("pk", flat=True))


def test_due_for_an_item_counts_local_days_against_its_interval(shop):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    due, soon, early = new_member("到期"), new_member("快到期"), new_member("未到期")
    buy(due, [shop.facial], days_ago(100))
    buy(soon, [shop.facial], days_ago(96))
    buy(early, [shop.facial], days_ago(50))
    buy(new_member("做别的"), [shop.botox], days_ago(300))

    assert matched({"kind": "due_for", "item": shop.facial.pk}) == {due.pk}
    assert matched({"kind": "due_for", "item": shop.facial.pk, "within_days": 4}) == {due.pk, soon.pk}
    # The manager's recall interval wins over the learned one, as everywhere.
    catalogue_item_update(item=shop.facial, recall_days=40)
    assert matched({"kind": "due_for", "item": shop.facial.pk}) == {due.pk, soon.pk, early.pk}
    # No interval, nobody is due.
    assert matched({"kind": "due_for", "item": shop.botox.pk}) == set()


def test_recommended_with_a_minimum_score(shop):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    ItemAssociation.objects.create(item=shop.laser, related=shop.facial, pair_members=8, item_members=20,
                                   related_members=10, confidence=0.4, lift=2.0)
    due = new_member("到期")           # due: 1 / (1 + ln(110 / 100)) = 0.913
    buy(due, [shop.facial], days_ago(110))
    laser = new_member("做了光子")      # bought with the laser 5 days ago: confidence 0.4
    buy(laser, [shop.laser], days_ago(5))
    new = new_member("新会员")          # popular among all members: 0.5 × 0.5 = 0.25
    ItemPopularity.objects.create(tier=None, item=shop.facial, buyers=50, share=0.5, rank=1)

    recommended = {"kind": "recommended", "item": shop.facial.pk}
    assert 1 / (1 + math.log(1.1)) == pytest.approx(0.913, abs=1e-3)
    assert matched({**recommended, "min_score": 0.9}) == {due.pk}
    assert matched({**recommended, "min_score": "0.4"}) == {due.pk, laser.pk}
    assert matched({**recommended, "min_score": 0.25}) == {due.pk, laser.pk, new.pk}
    assert matched({**recommended, "min_score": 0.95}) == set()


def test_the_exclusions_of_the_recommendations_apply(shop, practitioner):
    ItemAssociation.objects.create(item=shop.laser, related=shop.filler, pair_members=8, item_members=20,
                                   related_members=10, confidence=0.5, lift=2.0)
    ItemInterval.objects.create(item=shop.filler, days=100, repeats=30, members=10)
    her, cleared, archived = new_member("她"), new_member("禁忌"), new_member("已归档")
    for member in (her, cleared, archived):
        buy(member, [shop.filler], days_ago(200))
        buy(member, [shop.laser], days_ago(3))
    catalogue_item_update(item=shop.filler, needs_clearance=True)
    medical_profile_update(member=cleared, actor=practitioner, contraindications="孕期")
    archived.status = Member.Status.ARCHIVED
    archived.save(update_fields=["status"])

    assert matched({"kind": "recommended", "item": shop.filler.pk, "min_score": 0.1}) == {her.pk}
    assert matched({"kind": "due_for", "item": shop.filler.pk}) == {her.pk}
    catalogue_item_update(item=shop.filler, active=False)
    assert matched({"kind": "recommended", "item": shop.filler.pk, "min_score": 0.1}) == set()
    assert matched({"kind": "due_for", "item": shop.filler.pk}) == set()


def test_the_conditions_are_part_of_the_segments_one_query(shop):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    her = new_member("她", gender="female")
    buy(her, [shop.facial], days_ago(120))
    buy(new_member("他", gender="male"), [shop.facial], days_ago(120))
    conditions = conditions_clean({"all": [
        {"kind": "gender", "genders": ["female"]},
        {"any": [{"kind": "due_for", "item": shop.facial.pk},
                 {"kind": "recommended", "item": shop.serum.pk, "min_score": 0.2}]}]})

    with CaptureQueriesContext(connection) as queries:
        found = list(members_matching(conditions=conditions, at=NOW))

    assert found == [her] and len(queries) == 1


def _random_history(shop, rng: random.Random) -> list[Member]:
    """Sixty members with cycles (facial every ~30 days, botox every ~120), pairs (laser then
    aftercare, facial then serum) and noise, so the learning keeps intervals, pairs and popularity."""
    items = [shop.laser, shop.aftercare, shop.botox, shop.facial, shop.serum, shop.filler]
    members = []
    for n in range(60):
        member = new_member(f"会员{n}", gender=rng.choice(["female", "female", "male"]))
        members.append(member)
        start = rng.uniform(20, 400)
        habit, gap = rng.choice([(shop.facial, 30), (shop.botox, 120), (shop.laser, 45)])
        day = start
        while day > 0:
            basket = [habit]
            if habit == shop.laser and rng.random() < 0.6:
                basket.append(shop.aftercare)
            if habit == shop.facial and rng.random() < 0.5:
                basket.append(shop.serum)
            buy(member, basket, days_ago(day))
            day -= rng.gauss(gap, gap * 0.15)
        for _noise in range(rng.randint(0, 2)):
            buy(member, [rng.choice(items)], days_ago(rng.uniform(1, 400)))
    return members


def test_the_members_matched_are_those_the_recommendations_service_gives_the_item(shop, practitioner):
    members = _random_history(shop, random.Random(23))
    catalogue_item_update(item=shop.filler, needs_clearance=True)
    medical_profile_update(member=members[0], actor=practitioner, contraindications="过敏体质")
    members[1].status = Member.Status.ARCHIVED
    members[1].save(update_fields=["status"])
    recommendations_learn(now=NOW)
    assert ItemInterval.objects.exists() and ItemAssociation.objects.exists() and ItemPopularity.objects.exists()
    everyone = {member.pk: member_recommendations(member=member, as_of=NOW, limit=100) for member in members}

    compared = 0
    for item in (shop.laser, shop.aftercare, shop.botox, shop.facial, shop.serum, shop.filler):
        for min_score in (0.05, 0.2, 0.45, 0.7):
            expected = {pk for pk, recs in everyone.items()
                        if any(rec.item.pk == item.pk and rec.score >= min_score for rec in recs)}
            assert matched({"kind": "recommended", "item": item.pk, "min_score": min_score}) == expected, \
                (item.name, min_score)
            compared += len(expected)
        due = {pk for pk, recs in everyone.items()
               if any(rec.item.pk == item.pk and rec.signal == "due" and rec.days_since >= rec.interval_days
                      for rec in recs)}
        assert matched({"kind": "due_for", "item": item.pk}) == due, item.name
        compared += len(due)
    assert compared > 100  # the comparison is not between empty sets
    assert matched({"kind": "due_for", "item": shop.facial.pk})
    assert matched({"kind": "due_for", "item": shop.botox.pk})


def test_the_conditions_cannot_be_negated_so_medical_flags_never_select_members(shop):
    # "Not due for X" would hold the members left out because of a contraindication.
    for kind, params in (("due_for", {}), ("recommended", {"min_score": 0.1})):
        condition = {"kind": kind, "item": shop.filler.pk, **params}
        with pytest.raises(ValidationError, match="cannot be turned around"):
            conditions_clean({"all": [{**condition, "negate": True}]})
        with pytest.raises(ValidationError, match="cannot be turned around"):
            conditions_clean({"all": [{"any": [{"kind": "gender", "genders": ["male"]}, condition], "negate": True}]})
        assert conditions_clean({"all": [{"any": [condition], "negate": False}]})


@pytest.mark.parametrize(("condition", "message"), [
    ({"kind": "recommended", "min_score": 0.5}, "“item” is required."),
    ({"kind": "recommended", "item": 999999, "min_score": 0.5}, "These ids of “item” do not exist: 999999."),
    ({"kind": "recommended", "item": "x", "min_score": 0.5}, "“item” must be an id."),
    ({"kind": "recommended", "item": "ITEM", "min_score": 1.5}, "“min_score” must be a number from 0 to 1."),
    ({"kind": "recommended", "item": "ITEM", "min_score": "abc"}, "“min_score” must be a number from 0 to 1."),
    ({"kind": "recommended", "item": "ITEM"}, "“min_score” is required."),
    ({"kind": "due_for", "item": "ITEM", "within_days": -1}, "“within_days” must be between 0 and 365."),
])
def test_bad_parameters_are_refused_with_the_reason(shop, condition, message):
    condition = {k: (shop.facial.pk if v == "ITEM" else v) for k, v in condition.items()}
    with pytest.raises(ValidationError) as refused:
        conditions_clean({"all": [condition]})
    assert message in refused.value.messages[0]


def test_the_api_and_the_editor_take_the_new_kinds(shop, staff_client, manager):
    ItemInterval.objects.create(item=shop.facial, days=100, repeats=30, members=10)
    her = new_member("王小美")
    buy(her, [shop.facial], timezone.now() - timedelta(days=150))  # the pages and the API count as of now
    client = staff_client(manager)

    made = client.post("/api/v1/segments/", {"name": "该做水光针了", "conditions": {"all": [
        {"kind": "due_for", "item": shop.facial.pk}]}}, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["conditions"]["all"] == [
        {"kind": "due_for", "negate": False, "item": shop.facial.pk, "within_days": 0}]
    assert client.get(f"/api/v1/segments/{made.json()['id']}/count/").json()["count"] == 1
    refused = client.post("/api/v1/segments/preview/", {"conditions": {"all": [
        {"kind": "recommended", "item": shop.facial.pk, "min_score": 2}]}},
        content_type="application/json")
    assert refused.status_code == 400
    assert in_clinic_language("“%(name)s” must be a number from 0 to 1.") % {"name": "min_score"} in \
        refused.content.decode()

    row = client.get("/manage/segments/row/", {"kind": "recommended", "index": 0}).content.decode()
    assert 'name="c-0-min_score"' in row and 'max="1"' in row and shop.facial.name in row
    token = client.get("/manage/segments/new/").context["token"]
    post = {"name": "可能想做水光针", "description": "", "form_token": token,
            "c-0-kind": "recommended", "c-0-item": str(shop.facial.pk), "c-0-min_score": "0.5"}
    preview = client.post("/manage/segments/preview/", post).content.decode()
    assert 'data-count="1"' in preview and "王小美" in preview
    assert client.post("/manage/segments/new/", post).status_code == 302
    segment = Segment.objects.get(name="可能想做水光针")
    assert segment.conditions["all"] == [
        {"kind": "recommended", "negate": False, "item": shop.facial.pk, "min_score": 0.5}]
    reopened = client.get(f"/manage/segments/{segment.pk}/").content.decode()
    assert 'name="c-0-min_score" value="0.5"' in reopened
