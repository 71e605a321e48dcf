"""What the ledger and visits do when members register and merge (steps run by members' services)."""

from decimal import Decimal

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.services import member_merge, member_register
from points.ledger import account_for, available_balance
from points.models import Entry, Lot
from points.rules import loyalty_settings_update
from points.selectors import ledger_verify


def test_sign_up_bonus_is_credited_once_at_registration(front_desk, rules):
    loyalty_settings_update(signup_bonus=150)

    member = member_register(name="王芳", phone="13900007777", actor=front_desk)

    entry = Entry.objects.get(account__member=member)
    assert (entry.kind, entry.amount, entry.actor) == (Entry.Kind.BONUS, 150, front_desk)


def test_merge_moves_visits_and_open_lots_with_their_own_expiry(front_desk, manager, catalogue, rules):
    survivor = member_register(name="张小美", phone="13900008888", actor=front_desk)
    duplicate = member_register(name="张小美", phone="13900009999", actor=front_desk)
    checkout_complete(member=duplicate, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                      payments=[PaymentInput("cash", Decimal("500"))])
    lot = Lot.objects.get(account__member=duplicate)

    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)

    assert survivor.visits.count() == 1 and duplicate.visits.count() == 0
    assert account_for(duplicate).balance == 0
    moved = Lot.objects.get(account__member=survivor)
    assert (moved.remaining, moved.expires_at, moved.available_from) == (500, lot.expires_at, lot.available_from)
    assert available_balance(account_for(survivor)) == 500
    assert ledger_verify() == []


def test_settings_api_reads_for_staff_and_changes_for_managers(staff_client, front_desk, manager, catalogue):
    url = "/api/v1/points/settings/"
    assert staff_client(front_desk).get(url).status_code == 200
    assert staff_client(front_desk).put(url, {"signup_bonus": 5}, content_type="application/json").status_code == 403

    category = catalogue["cream"].category_id
    response = staff_client(manager).put(
        url, {"signup_bonus": 200, "expiry_policy": "year_end", "category_multipliers": {str(category): "2.5"}},
        content_type="application/json")

    assert response.status_code == 200, response.json()
    assert response.json()["signup_bonus"] == 200
    assert response.json()["category_multipliers"] == {str(category): "2.50"}


def test_settings_api_refuses_bad_values_and_changes_nothing(staff_client, manager):
    url = "/api/v1/points/settings/"
    before = staff_client(manager).get(url).json()

    response = staff_client(manager).put(url, {"max_points_share_percent": 150, "expiry_policy": "sometimes",
                                               "category_multipliers": {"999999": "2"}},
                                         content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"expiry_policy", "category_multipliers"}
    assert staff_client(manager).get(url).json() == before
