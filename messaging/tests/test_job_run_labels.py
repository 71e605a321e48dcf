"""The scheduled jobs appear in the job-run pages under their own names, with their counts named,
to the clinic's manager and to the platform operator."""

import pytest
from django.conf import settings
from django.utils import translation

from conftest import client_for, console_client
from jobs.labels import counts_label, job_label
from jobs.services import job_run_fail, job_run_start, job_run_succeed

JOBS = {
    "campaigns.tasks.birthday_offers_grant": {"granted": 3, "messages_skipped": 1},
    "points.tasks.points_expire": {"lots_expired": 12, "coupons_expired": 0},
    "points.tasks.points_expiry_warn": {"warnings_queued": 4, "warnings_skipped": 0},
    "tiers.tasks.tiers_evaluate_nightly": {"evaluated": 9, "downgraded": 2},
    "appointments.tasks.appointment_reminders_send": {"reminders_sent": 7, "reminders_cancelled": 1},
}


@pytest.fixture
def runs(clinic):
    for job, counts in JOBS.items():
        job_run_succeed(run=job_run_start(job=job, clinic=clinic), counts=counts)
    job_run_fail(run=job_run_start(job="messaging.tasks.messages_deliver_due", clinic=clinic),
                 counts={"sent": 5}, error="OperationalError: server closed the connection")


def shown(content: str, language: str) -> None:
    with translation.override(language):
        for job, counts in JOBS.items():
            assert job_label(job) in content and counts_label(counts) in content
            assert job_label(job) != job
        assert "OperationalError: server closed the connection" in content


def test_a_manager_sees_the_jobs_of_their_clinic_by_name_with_counts_and_errors(clinic, manager, runs):
    response = client_for(clinic, manager).get("/settings/jobs/")

    assert response.status_code == 200
    shown(response.content.decode(), clinic.language)


@pytest.mark.parametrize(("accept_language", "language"), [(None, settings.LANGUAGE_CODE), ("en", "en")])
def test_the_operator_sees_them_too_in_the_browser_s_language(operator, runs, accept_language, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = console_client(operator).get("/jobs/", **headers)

    assert response.status_code == 200
    shown(response.content.decode(), language)
