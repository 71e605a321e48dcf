"""The generated history in a committed clinic of its own, shared by a test module."""

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from clinics.models import Clinic
from conftest import client_for
from insights.tests.history import History, history_make


@dataclass
class Kpi:
    clinic: Clinic
    client: Client
    history: History


@pytest.fixture(scope="module")
def kpi(committed_clinic, django_db_blocker) -> Kpi:
    """A clinic of its own with the generated history, committed once for the module; its
    owner's client. Tests that use it take `committed_db` (not `db`)."""
    clinic = committed_clinic("kpitest", "指标诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        owner = User.objects.get(username="owner")
        history = history_make(owner)
        client = client_for(clinic, owner)
    connection.set_schema_to_public()
    return Kpi(clinic, client, history)
