"""A double click sends two POSTs at the same moment: each in its own thread and database
connection, against a committed clinic. One creates, the other waits for it and is sent to the
same place; nothing is created twice."""

import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from accounts.roles import Role
from accounts.services import staff_create
from conftest import client_for
from points.models import CouponTemplate

from .conftest import form_token

CLICKS = 4


@pytest.fixture(scope="module")
def clinic_and_manager(committed_clinic, django_db_blocker):
    clinic = committed_clinic("onceclinic", "防重复诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        manager = staff_create(username="boss", email="boss@onceclinic.test", full_name="店长",
                               role=Role.MANAGER, password="Correct-horse-42")
    return clinic, manager


def test_simultaneous_posts_of_one_form_create_one_category(clinic_and_manager, django_db_blocker):
    clinic, manager = clinic_and_manager
    with django_db_blocker.unblock():
        clients = [client_for(clinic, manager) for _ in range(CLICKS)]
        token = form_token(clients[0].get("/manage/coupons/new/"))
        connection.set_schema_to_public()
        barrier = threading.Barrier(CLICKS)
        answers: list[tuple[int, str]] = []

        def click(client) -> None:
            try:
                barrier.wait(timeout=30)
                response = client.post("/manage/coupons/new/",
                                       {"name": "满500减50", "kind": "fixed", "amount": "50", "valid_days": "30",
                                        "min_spend": "500", "active": "on", "form_token": token})
                answers.append((response.status_code, response.get("Location", "")))
            finally:
                connection.close()

        threads = [threading.Thread(target=click, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        with schema_context(clinic.schema_name):
            created = CouponTemplate.objects.filter(name="满500减50").count()
        connection.set_schema_to_public()

    assert answers == [(302, "/manage/coupons/")] * CLICKS
    assert created == 1
