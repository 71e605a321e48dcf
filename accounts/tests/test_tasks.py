"""Staff invitations are sent by a real Celery worker, to a real SMTP server, each in the schema of
the clinic whose staff member was created."""

import re

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.roles import Role
from accounts.services import staff_create
from clinics.models import Clinic
from conftest import until

pytestmark = pytest.mark.usefixtures("celery_worker_process")


@pytest.fixture(scope="module")
def alpha(committed_clinic) -> Clinic:
    return committed_clinic("alphaclinic", "阿尔法诊所")


@pytest.fixture(scope="module")
def beta(committed_clinic) -> Clinic:
    return committed_clinic("betaclinic", "Beta Clinic", language="en")


def staff_invite(clinic: Clinic, *, username: str, full_name: str) -> None:
    with schema_context(clinic.schema_name):
        staff_create(username=username, email=f"{username}@{clinic.slug}.test", full_name=full_name,
                     role=Role.FRONT_DESK)


def links(message) -> list[str]:
    return re.findall(r"https?://\S+", message.get_body().get_content())


def test_invitations_from_two_clinics_each_go_out_from_their_own_clinic(alpha, beta, committed_db,
                                                                         smtp_outbox):
    staff_invite(alpha, username="anna", full_name="安娜")
    staff_invite(beta, username="ben", full_name="Ben Baker")

    until(lambda: smtp_outbox.to("anna@alphaclinic.test") and smtp_outbox.to("ben@betaclinic.test"))

    (to_anna,) = smtp_outbox.to("anna@alphaclinic.test")
    (to_ben,) = smtp_outbox.to("ben@betaclinic.test")
    assert "阿尔法诊所" in to_anna["Subject"]
    assert "安娜" in to_anna.get_body().get_content()
    assert [link.split("/accounts/reset/")[0] for link in links(to_anna)] == [
        f"http://alphaclinic.{settings.BASE_DOMAIN}"]
    assert "Beta Clinic" in to_ben["Subject"]
    assert "Ben Baker" in to_ben.get_body().get_content()
    assert [link.split("/accounts/reset/")[0] for link in links(to_ben)] == [
        f"http://betaclinic.{settings.BASE_DOMAIN}"]


def test_the_owner_of_a_new_clinic_is_invited_to_that_clinic(committed_clinic, smtp_outbox):
    committed_clinic("gammaclinic", "伽马诊所", owner_password=None)

    (message,) = until(lambda: smtp_outbox.to("owner@gammaclinic.test"))

    assert "伽马诊所" in message["Subject"]
    assert links(message)[0].startswith(f"http://gammaclinic.{settings.BASE_DOMAIN}/accounts/reset/")
