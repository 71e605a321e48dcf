"""checkout_quote: the figures a checkout would record, with nothing recorded."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote
from points.models import Entry
from tiers.models import MemberTier, TierChange
from visits.models import Visit


def test_a_quote_matches_the_checkout_that_follows_and_records_nothing(member, catalogue, front_desk):
    # Given a bill that takes a Regular member to Silver
    lines = [LineInput(item_id=catalogue["filler"].pk, quantity=2)]
    # When it is quoted
    quote = checkout_quote(member=member, lines=lines, actor=front_desk)
    # Then nothing is recorded
    assert not Visit.objects.exists() and not TierChange.objects.filter(kind="upgrade").exists()
    assert not Entry.objects.filter(kind=Entry.Kind.EARN).exists()
    assert not MemberTier.objects.filter(member=member).exists()
    # And the checkout then records exactly the quoted figures
    result = checkout_complete(member=member, lines=lines, actor=front_desk,
                               payments=[PaymentInput(method="cash", amount=quote.total)])
    assert (quote.subtotal, quote.total) == (result.visit.subtotal, result.visit.total) == (
        Decimal("6000.00"), Decimal("6000.00"))
    assert quote.points_earned == result.points_earned == 6000
    assert quote.tier_change == result.tier_change.to_tier.name


def test_a_quote_refuses_what_checkout_would_refuse(member, catalogue, front_desk):
    with pytest.raises(ValidationError) as refused:
        checkout_quote(member=member, lines=[LineInput(item_id=catalogue["cream"].pk)], actor=front_desk,
                       coupon_code="NOSUCH")
    assert "coupon_code" in refused.value.message_dict


def test_a_quote_takes_no_lock_and_writes_no_row(member, catalogue, front_desk, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lines = [LineInput(item_id=catalogue["filler"].pk, quantity=1)]
    with CaptureQueriesContext(connection) as queries:
        checkout_quote(member=member, lines=lines, actor=front_desk)
    sql = " ".join(query["sql"].upper() for query in queries.captured_queries)
    assert "FOR UPDATE" not in sql and "FOR NO KEY UPDATE" not in sql
    assert not any(query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT"))
                   for query in queries.captured_queries)


def test_pay_the_rest_is_worked_out_by_checkout_from_the_total_it_charges(member, catalogue, front_desk):
    lines = [LineInput(item_id=catalogue["filler"].pk), LineInput(item_id=catalogue["cream"].pk)]
    result = checkout_complete(member=member, lines=lines, actor=front_desk,
                               payments=[PaymentInput(method="cash", amount=Decimal("1000.00")),
                                         PaymentInput(method="wechat_pay", amount=None)])
    assert sorted((p.method, p.amount) for p in result.payments) == [
        ("cash", Decimal("1000.00")), ("wechat_pay", Decimal("2500.00"))]
    with pytest.raises(ValidationError) as two:
        checkout_complete(member=member, lines=lines, actor=front_desk,
                          payments=[PaymentInput(method="cash", amount=None),
                                    PaymentInput(method="wechat_pay", amount=None)])
    assert "payments" in two.value.message_dict
