"""Idempotency-Key under real concurrency: the same checkout sent twice at once, from two
threads with their own connections, is recorded once and both get the same answer."""

import threading
from decimal import Decimal

from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.authtoken.models import Token

from accounts.models import User
from clinics.context import clinic_host
from members.services import member_register
from points.ledger import account_for
from visits.models import Visit
from visits.services import catalogue_item_create, category_create


def test_the_same_key_sent_twice_at_once_checks_out_once(committed_clinic, django_db_blocker):
    clinic = committed_clinic("idemrace", "幂等测试诊所")
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        member = member_register(name="李同时", phone="13911112222", actor=None)
        item = catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", price=Decimal("500.00"),
                                     category=category_create(name="护肤", code="care"))
        token = Token.objects.create(user=User.objects.get(username="owner")).key
    body = {"member_id": member.pk, "lines": [{"item_id": item.pk}],
            "payments": [{"method": "cash", "amount": "500.00"}]}
    barrier = threading.Barrier(2)
    answers = []

    def send() -> None:
        client = Client(HTTP_HOST=clinic_host(clinic), HTTP_AUTHORIZATION=f"Token {token}")
        try:
            with django_db_blocker.unblock():
                barrier.wait(timeout=30)
                answers.append(client.post("/api/v1/visits/", body, content_type="application/json",
                                           headers={"Idempotency-Key": "same-key"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(answer.headers.get("Idempotent-Replay", "") for answer in answers) == ["", "true"]
    with django_db_blocker.unblock(), schema_context(clinic.schema_name):
        assert Visit.objects.filter(member=member).count() == 1
        assert account_for(member).balance == answers[0].json()["points_earned"]
