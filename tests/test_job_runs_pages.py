"""Who sees which job runs: the operator every clinic's and the platform's, a clinic manager
only their own clinic's, front desk none."""

import pytest

from conftest import client_for, console_client
from jobs.services import job_run_fail, job_run_start, job_run_succeed


@pytest.fixture
def runs(clinic, other_clinic):
    job_run_succeed(run=job_run_start(job="own.report", clinic=clinic), counts={"deleted": 3})
    job_run_fail(run=job_run_start(job="other.report", clinic=other_clinic), counts={},
                 error="SMTPException: mail server down")
    job_run_start(job="platform.report", clinic=None)


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_the_operator_sees_the_runs_of_every_clinic_and_of_the_platform(operator, clinic, other_clinic,
                                                                         runs):
    content = page(console_client(operator), "/jobs/")

    assert all(job in content for job in ("own.report", "other.report", "platform.report"))
    assert clinic.name in content and other_clinic.name in content
    assert "已删除: 3" in content, "in the platform's default language"
    assert "SMTPException: mail server down" in content


@pytest.mark.parametrize(("query", "shown"), [
    ("clinic={other}", {"other.report"}),
    ("status=failed", {"other.report"}),
    ("status=running", {"platform.report"}),
    ("status=bogus&clinic=x", {"own.report", "other.report", "platform.report"}),
])
def test_the_operator_filters_runs_by_clinic_and_status(operator, other_clinic, runs, query, shown):
    content = page(console_client(operator), "/jobs/?" + query.format(other=other_clinic.pk))

    assert {job for job in ("own.report", "other.report", "platform.report") if job in content} == shown


def test_a_manager_sees_only_the_runs_of_their_own_clinic(clinic, manager, runs):
    client = client_for(clinic, manager)
    content = page(client, "/settings/jobs/")

    assert "own.report" in content and "已删除: 3" in content, "in the clinic's language"
    assert "other.report" not in content and "platform.report" not in content
    assert "/settings/jobs/" in page(client, "/")


def test_front_desk_may_not_see_job_runs(clinic, front_desk, runs):
    client = client_for(clinic, front_desk)

    assert client.get("/settings/jobs/").status_code == 403
    assert "/settings/jobs/" not in page(client, "/")
