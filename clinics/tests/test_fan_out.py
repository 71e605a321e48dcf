"""The dispatcher sends a task to every active clinic, each run by a real worker in that clinic's
schema, and each run is logged."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.tasks import sessions_clear
from clinics.models import Clinic
from clinics.platform.selectors import clinics_active
from clinics.platform.services import clinic_suspend
from clinics.platform.tasks import clinics_at_local_hour, clinics_fan_out
from conftest import until
from jobs.labels import fan_out_job
from jobs.models import JobRun

SESSIONS_CLEAR = "accounts.tasks.sessions_clear"


@pytest.fixture(scope="module")
def fleet(committed_clinic, django_db_blocker) -> tuple[Clinic, Clinic, Clinic]:
    north = committed_clinic("northclinic", "北诊所")
    south = committed_clinic("southclinic", "南诊所")
    closed = committed_clinic("closedclinic", "停业诊所")
    with django_db_blocker.unblock():
        closed = clinic_suspend(clinic=closed, actor="tests", reason="Unpaid invoice")
    return north, south, closed


@pytest.fixture
def runs_since(committed_db):
    """When the test started; the job runs it left are deleted after it."""
    started = timezone.now()
    yield started
    JobRun.objects.filter(started_at__gte=started).delete()


def sessions_add(clinic: Clinic) -> None:
    now = timezone.now()
    with schema_context(clinic.schema_name):
        Session.objects.create(session_key=f"expired{clinic.slug}", session_data="",
                               expire_date=now - timedelta(minutes=1))
        Session.objects.create(session_key=f"live{clinic.slug}", session_data="",
                               expire_date=now + timedelta(days=1))


def session_keys(clinic: Clinic) -> set[str]:
    with schema_context(clinic.schema_name):
        return set(Session.objects.values_list("session_key", flat=True))


def test_fan_out_clears_expired_sessions_in_each_active_clinic_only(celery_worker_process, fleet,
                                                                     runs_since):
    north, south, closed = fleet
    for clinic in fleet:
        sessions_add(clinic)
    active = set(clinics_active().values_list("pk", flat=True))

    clinics_fan_out.delay(SESSIONS_CLEAR)

    def clinic_runs_done() -> list[JobRun]:
        runs = JobRun.objects.filter(job=SESSIONS_CLEAR, started_at__gte=runs_since).exclude(
            status=JobRun.Status.RUNNING)
        return list(runs) if len(runs) >= len(active) else []

    runs = {run.clinic_id: run for run in until(clinic_runs_done)}
    fan_out = JobRun.objects.get(job=fan_out_job(SESSIONS_CLEAR), started_at__gte=runs_since)
    assert (fan_out.clinic, fan_out.status, fan_out.counts) == (None, JobRun.Status.SUCCEEDED,
                                                                {"clinics": len(active)})
    assert set(runs) == active
    assert closed.pk not in runs
    assert {run.status for run in runs.values()} == {JobRun.Status.SUCCEEDED}
    assert runs[north.pk].counts == runs[south.pk].counts == {"deleted": 1}
    assert all(run.finished_at >= run.started_at for run in runs.values())
    assert session_keys(north) == {"livenorthclinic"}
    assert session_keys(south) == {"livesouthclinic"}
    assert session_keys(closed) == {"expiredclosedclinic", "liveclosedclinic"}


def test_a_task_sent_from_the_public_schema_runs_there_as_a_platform_job(celery_worker_process,
                                                                         runs_since):
    sessions_clear.delay()

    run = until(lambda: JobRun.objects.filter(job=SESSIONS_CLEAR, started_at__gte=runs_since)
                .exclude(status=JobRun.Status.RUNNING).first())
    assert (run.clinic, run.status, set(run.counts)) == (None, JobRun.Status.SUCCEEDED, {"deleted"})


def test_a_local_hour_picks_the_clinics_where_it_is_that_hour_now():
    shanghai = Clinic(schema_name="shanghai", time_zone="Asia/Shanghai")
    london = Clinic(schema_name="london", time_zone="Europe/London")
    now = datetime(2026, 1, 15, 20, 30, tzinfo=UTC)

    assert clinics_at_local_hour([shanghai, london], hour=4, now=now) == [shanghai]
    assert clinics_at_local_hour([shanghai, london], hour=20, now=now) == [london]
    assert clinics_at_local_hour([shanghai, london], hour=None, now=now) == [shanghai, london]
