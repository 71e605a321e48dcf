"""The tier programme and the tiers, changed by a manager through the pages."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from members.services import member_register
from tiers.models import Tier, TierProgramme
from tiers.services import tier_set_manual, tier_update

from .conftest import field_error, form_token

TIER = {"rank": "4", "name": "黑卡", "min_spend": "100000", "min_visits": "40", "earn_multiplier": "3.00",
        "discount_percent": "15", "birthday_gift_points": "5000", "perks": "专属管家"}


def tier_values(tier: Tier, **changes) -> dict:
    values = {"rank": tier.rank, "name": tier.name, "min_spend": tier.min_spend, "min_visits": tier.min_visits,
              "earn_multiplier": tier.earn_multiplier, "discount_percent": tier.discount_percent,
              "birthday_gift_points": tier.birthday_gift_points, "perks": tier.perks}
    return {**values, **changes}


def test_the_tiers_page_shows_the_programme_and_every_tier(manager_client):
    content = manager_client.get("/manage/tiers/").content.decode()

    for name in ("普通", "银卡", "金卡", "钻石卡"):
        assert name in content
    assert re.search(r'name="basis" value="spend_or_visits"[^>]*checked', content)


def test_a_manager_changes_how_members_qualify(manager_client):
    response = manager_client.post("/manage/tiers/", {"basis": "spend_and_visits", "window_months": "24",
                                                      "grace_days": "60", "downgrade_mode": "matching"})

    assert response.status_code == 302
    programme = TierProgramme.objects.get(pk=1)
    assert (programme.basis, programme.window_months, programme.grace_days, programme.downgrade_mode) == (
        "spend_and_visits", 24, 60, "matching")


@pytest.mark.parametrize(("field", "value"), [("window_months", "500"), ("grace_days", "-1"),
                                              ("basis", "whim"), ("grace_days", "")])
def test_a_bad_programme_value_is_shown_next_to_its_field_and_nothing_changes(manager_client, field, value):
    data = {"basis": "spend", "window_months": "6", "grace_days": "10", "downgrade_mode": "matching",
            field: value}

    response = manager_client.post("/manage/tiers/", data)

    assert response.status_code == 400
    assert field_error(response, field)
    programme = TierProgramme.objects.get(pk=1)
    assert (programme.basis, programme.window_months, programme.grace_days) == ("spend_or_visits", 12, 30)


def test_a_manager_adds_a_tier_with_its_benefits(manager_client):
    token = form_token(manager_client.get("/manage/tiers/new/"))

    response = manager_client.post("/manage/tiers/new/", {**TIER, "form_token": token})

    assert response.status_code == 302 and response["Location"] == "/manage/tiers/"
    tier = Tier.objects.get(name="黑卡")
    assert (tier.rank, tier.min_spend, tier.min_visits, tier.earn_multiplier, tier.discount_percent,
            tier.birthday_gift_points, tier.perks) == (4, Decimal(100000), 40, Decimal(3), 15, 5000, "专属管家")


def test_a_double_click_on_add_tier_adds_it_once(manager_client):
    data = {**TIER, "form_token": form_token(manager_client.get("/manage/tiers/new/"))}

    first = manager_client.post("/manage/tiers/new/", data)
    second = manager_client.post("/manage/tiers/new/", data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Tier.objects.filter(name="黑卡").count() == 1


def test_a_form_without_its_token_creates_nothing(manager_client):
    response = manager_client.post("/manage/tiers/new/", TIER)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Tier.objects.filter(name="黑卡").exists()
    assert form_token(response)


def test_a_tier_below_the_ladder_is_refused_next_to_the_threshold(manager_client):
    token = form_token(manager_client.get("/manage/tiers/new/"))

    response = manager_client.post("/manage/tiers/new/", {**TIER, "min_spend": "100", "form_token": token})

    assert response.status_code == 400
    assert "钻石卡" in field_error(response, "min_spend")
    assert not Tier.objects.filter(name="黑卡").exists()
    again = manager_client.post("/manage/tiers/new/", {**TIER, "form_token": form_token(response)})
    assert again.status_code == 302
    assert Tier.objects.filter(name="黑卡").count() == 1


def test_a_manager_raises_a_tier_threshold(manager_client):
    silver = Tier.objects.get(name="银卡")

    response = manager_client.post(f"/manage/tiers/{silver.pk}/", tier_values(silver, min_spend="8000",
                                                                             earn_multiplier="1.30"))

    assert response.status_code == 302
    silver.refresh_from_db()
    assert (silver.min_spend, silver.earn_multiplier) == (Decimal(8000), Decimal("1.30"))


@pytest.mark.parametrize(("field", "value", "says"), [
    ("min_spend", "60000", "金卡"),
    ("discount_percent", "150", ""),
    ("earn_multiplier", "abc", ""),
    ("rank", "2", "2"),
    ("name", "", ""),
])
def test_a_bad_tier_edit_is_shown_next_to_its_field_and_nothing_changes(manager_client, field, value, says):
    silver = Tier.objects.get(name="银卡")
    before = tier_values(silver)

    response = manager_client.post(f"/manage/tiers/{silver.pk}/", tier_values(silver, **{field: value}))

    assert response.status_code == 400
    assert says in field_error(response, field) and field_error(response, field)
    silver.refresh_from_db()
    assert tier_values(silver) == before


def test_the_entry_tier_cannot_ask_for_a_threshold(manager_client):
    entry = Tier.objects.get(rank=0)

    response = manager_client.post(f"/manage/tiers/{entry.pk}/", tier_values(entry, min_visits="3"))

    assert response.status_code == 400
    assert field_error(response, "min_visits")
    assert Tier.objects.get(rank=0).min_visits == 0


def test_a_manager_removes_a_tier_nobody_holds(manager_client):
    diamond = Tier.objects.get(name="钻石卡")

    response = manager_client.post(f"/manage/tiers/{diamond.pk}/delete/")

    assert response.status_code == 302
    assert not Tier.objects.filter(pk=diamond.pk).exists()
    assert manager_client.post(f"/manage/tiers/{diamond.pk}/delete/").status_code == 302


def test_a_tier_members_hold_is_not_removed(manager_client, manager):
    gold = Tier.objects.get(name="金卡")
    member = member_register(name="张小美", phone="13900001111", actor=None)
    tier_set_manual(member=member, tier=gold, actor=manager, reason="老会员迁移")

    response = manager_client.post(f"/manage/tiers/{gold.pk}/delete/", follow=True)

    assert "金卡" in response.content.decode()
    assert 'class="message error"' in response.content.decode()
    assert Tier.objects.filter(pk=gold.pk).exists()


def test_the_entry_tier_page_offers_no_removal(manager_client):
    entry = Tier.objects.get(rank=0)

    content = manager_client.get(f"/manage/tiers/{entry.pk}/").content.decode()

    assert f"/manage/tiers/{entry.pk}/delete/" not in content


def test_the_tier_service_refuses_a_front_desk_actor(front_desk):
    silver = Tier.objects.get(name="银卡")

    with pytest.raises(PermissionDenied):
        tier_update(tier=silver, actor=front_desk, min_spend=Decimal(1))

    assert Tier.objects.get(pk=silver.pk).min_spend == Decimal(5000)
