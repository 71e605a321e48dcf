"""Overlapping runs of the survey job against real PostgreSQL, in a clinic provisioned for the
test: threads with their own connections plan and send at the same moment, as two workers (or a
worker and a retried task) would. Every visit gets one survey and one message."""

import threading
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.models import Survey
from feedback.services import surveys_plan, surveys_send_due
from members.services import member_register
from messaging.models import Message, Purpose
from messaging.services import messaging_settings_update
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

THREADS = 6
VISITS = 30


@pytest.fixture(scope="module")
def clinic_with_visits(committed_clinic, django_db_blocker):
    clinic = committed_clinic("surveyrace", "并发问卷诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        Tier.objects.update(discount_percent=0)
        messaging_settings_update(actor=None, quiet_hours_start=time(0), quiet_hours_end=time(0))
        lasers = category_create(name="光电类", code="lasers")
        ipl = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-1", category=lasers,
                                    price=Decimal("800.00"), duration_minutes=45)
        visits = []
        for n in range(VISITS):
            member = member_register(name=f"顾客{n}", phone=f"1360000{n:04d}", actor=None)
            visits.append(checkout_complete(
                member=member, actor=None, at=timezone.now() - timedelta(hours=30, minutes=n),
                lines=[LineInput(item_id=ipl.pk, quantity=1)],
                payments=[PaymentInput(method="cash", amount=Decimal("800.00"))]).visit.pk)
    yield clinic, visits


def test_overlapping_runs_send_one_survey_per_visit(clinic_with_visits, django_db_blocker):
    clinic, visit_ids = clinic_with_visits
    barrier = threading.Barrier(THREADS)
    results: list[object] = []

    def run() -> None:
        try:
            with tenant_context(clinic):
                barrier.wait(timeout=60)
                surveys_plan()
                results.append(surveys_send_due(batch=7))
        except Exception as exc:  # noqa: BLE001 - any failure is reported by the test
            results.append(repr(exc))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with tenant_context(clinic):
            surveys = list(Survey.objects.values_list("visit_id", "status"))
            messages = list(Message.objects.filter(purpose=Purpose.SURVEY).values_list("guard_key", flat=True))

    assert all(isinstance(result, dict) for result in results), results
    assert sum(result["surveys_sent"] for result in results) == VISITS
    assert sorted(surveys) == sorted((visit, Survey.Status.SENT) for visit in visit_ids)
    assert sorted(messages) == sorted(f"survey:{visit}" for visit in visit_ids)
