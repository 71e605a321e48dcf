"""Whether spend paid with the card counts toward tiers is the clinic's setting (default: it does).
Off, a visit's tier spend is what it came to less refunds, less what the card paid net of what
refunds gave back to the card; the visit still counts as a visit."""

from decimal import Decimal

import pytest

from audit.models import SettingsChange
from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from storedvalue.services import stored_value_settings_update, stored_value_top_up
from tiers.models import Tier, TierProgramme
from tiers.selectors import TierMetrics, member_current_tier, member_tier_metrics, tier_metrics_by_member
from tiers.services import programme_update
from visits.models import Payment


def pay(member, actor, item, *, card: str, cash: str, quantity: int = 1):
    return checkout_complete(member=member, actor=actor, lines=[LineInput(item_id=item.pk, quantity=quantity)],
                             payments=[PaymentInput(method="stored_value", amount=Decimal(card)),
                                       PaymentInput(method="cash", amount=Decimal(cash))])


def test_the_switch_is_a_recorded_setting_and_on_by_default(manager, card_rules):
    assert card_rules.spend_counts_toward_tiers is True
    row = stored_value_settings_update(actor=manager, spend_counts_toward_tiers=False)
    assert row.spend_counts_toward_tiers is False
    change = SettingsChange.objects.filter(actor=manager, object_type="storedvalue.storedvaluesettings").first()
    assert (change.before, change.after) == ({"spend_counts_toward_tiers": True}, {"spend_counts_toward_tiers": False})


@pytest.mark.parametrize("counts", [True, False])
def test_card_spend_toward_tiers_follows_the_setting_net_of_refunds(member, front_desk, manager, cream_333, counts):
    stored_value_settings_update(actor=manager, spend_counts_toward_tiers=counts)
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("1000"), method="cash")
    # three creams, 999.99: 700.00 from the card, 299.99 cash; then one cream refunded, 333.33,
    # paid back to the card (the larger method)
    result = pay(member, front_desk, cream_333, card="700", cash="299.99", quantity=3)
    visit_refund(visit=result.visit, lines=[(result.visit.lines.get().pk, 1)], reason="过敏", actor=front_desk)

    visit = result.visit
    visit.refresh_from_db()
    card_net = sum(Payment.objects.filter(visit=visit, method="stored_value").values_list("amount", flat=True))
    assert (visit.total - visit.refunded_total, card_net) == (Decimal("666.66"), Decimal("366.67"))
    expected = TierMetrics(Decimal("666.66") if counts else Decimal("299.99"), 1)
    programme = TierProgramme.objects.get()
    assert member_tier_metrics(member, visit.visited_at) == expected
    assert tier_metrics_by_member(at=visit.visited_at, programme=programme, member_ids=[member.pk]) \
        == {member.pk: expected}


@pytest.mark.parametrize(("counts", "reaches_silver"), [(True, True), (False, False)])
def test_checkout_moves_the_member_up_only_when_card_spend_counts(member, front_desk, manager, catalogue, counts,
                                                                   reaches_silver):
    programme_update(basis=TierProgramme.Basis.SPEND, actor=manager)
    silver = Tier.objects.order_by("rank")[1]
    assert silver.min_spend == Decimal("5000")
    stored_value_settings_update(actor=manager, spend_counts_toward_tiers=counts)
    stored_value_top_up(member=member, actor=front_desk, paid=Decimal("4000"), method="cash")
    # two visits of 3,000, each 2,000 from the card and 1,000 cash: 6,000 spent, 2,000 of it in cash
    pay(member, front_desk, catalogue["filler"], card="2000", cash="1000")
    pay(member, front_desk, catalogue["filler"], card="2000", cash="1000")
    assert (member_current_tier(member) == silver) is reaches_silver
    assert member_tier_metrics(member, member.visits.latest("visited_at").visited_at).spend \
        == (Decimal("6000") if counts else Decimal("2000"))


def test_the_settings_api_and_page_carry_the_switch(staff_client, manager, front_desk, card_rules):
    url = "/api/v1/stored-value/settings/"
    assert staff_client(front_desk).get(url).status_code == 403
    client = staff_client(manager)
    current = client.get(url).json()
    assert current["spend_counts_toward_tiers"] is True
    changed = client.put(url, {**current, "spend_counts_toward_tiers": False}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["spend_counts_toward_tiers"] is False
    card_rules.refresh_from_db()
    assert card_rules.spend_counts_toward_tiers is False
    assert 'name="spend_counts_toward_tiers"' in client.get("/stored-value/plans/").content.decode()
