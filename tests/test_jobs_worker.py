"""Every scheduled job end to end through a real Celery worker and Redis: each run is logged with
its counts, a second run changes nothing, and a worker killed in the middle of a batch leaves
nothing half done: the next run completes the job with no duplicate and nothing missing."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import Practitioner, Reminder
from appointments.reminders import reminder_guard_key
from appointments.schedule import (
    Period,
    appointment_policy_update,
    location_create,
    practitioner_create,
    working_hours_set,
)
from appointments.services import booking_cancel, booking_create
from appointments.tasks import appointment_reminders_send
from campaigns.models import Campaign, CampaignGrant
from campaigns.services import birthday_offer_update
from campaigns.tasks import birthday_offers_grant
from clinic_loyalty.celery import app as celery_app
from clinics.models import Clinic
from conftest import TEST_PASSWORD, _test_database_url, until
from insights.models import CustomerValueFit
from insights.tasks import customer_value_fit_nightly
from jobs.models import JobRun
from members.models import ConsentRecord, Member
from members.services import consent_record, member_register
from messaging.models import Message, Purpose
from messaging.services import messaging_settings_update
from points.models import Account, Entry, Lot
from points.rules import local_date
from points.selectors import ledger_verify
from points.tasks import points_expire, points_expiry_warn
from points.tests.factories import points_give
from tiers.models import MemberTier, Tier
from tiers.services import programme_update, tier_set_manual
from tiers.tasks import tiers_evaluate_nightly
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

KILLABLE_QUEUE = "killable"


@pytest.fixture(scope="module")
def jobs_clinic(committed_clinic, django_db_blocker) -> Clinic:
    clinic = committed_clinic("jobsclinic", "作业诊所")
    with django_db_blocker.unblock(), tenant_context(clinic):
        owner = User.objects.get(username="owner")
        # No quiet hours, no cap: what these tests check must not depend on the hour they run.
        messaging_settings_update(actor=owner, quiet_hours_start=time(0), quiet_hours_end=time(0),
                                  marketing_weekly_cap=100)
    return clinic


@pytest.fixture
def in_clinic(jobs_clinic, committed_db) -> Iterator[Clinic]:
    with tenant_context(jobs_clinic):
        yield jobs_clinic


_phones = iter(range(13700000001, 13700099999))


def members_add(count: int, **fields) -> list[Member]:
    members = []
    for n in range(count):
        member = member_register(name=f"会员{n}", phone=str(next(_phones)), actor=None, **fields)
        consent_record(member=member, purpose="marketing_sms", granted=True,
                       channel=ConsentRecord.Channel.FRONT_DESK, actor=None)
        members.append(member)
    return members


def runs_of(task, clinic: Clinic, since) -> list[JobRun]:
    return list(JobRun.objects.filter(job=task.name, clinic=clinic, started_at__gte=since)
                .exclude(status=JobRun.Status.RUNNING).order_by("started_at"))


def run_and_wait(task, clinic: Clinic, *, queue: str | None = None, **kwargs) -> JobRun:
    since = timezone.now()
    options = {"queue": queue} if queue else {}
    task.apply_async(kwargs=kwargs, **options)
    [run] = until(lambda: runs_of(task, clinic, since), timeout=60)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run


def birthday_today(clinic: Clinic) -> date:
    today = local_date(timezone.now())
    return today.replace(year=1990) if (today.month, today.day) != (2, 29) else date(1992, 2, 29)


def birthday_grants():
    return CampaignGrant.objects.filter(birthday_year__isnull=False)


def birthday_sent_from_midnight() -> None:
    """The clinic's birthday campaign gives at 00:00 rather than 09:00, so that what these tests
    check does not depend on the hour they run."""
    Campaign.objects.filter(schedule=Campaign.Schedule.BIRTHDAY).update(send_time=time(0))


def test_birthday_offers_run_on_a_real_worker_and_a_second_run_changes_nothing(celery_worker_process,
                                                                              in_clinic):
    birthday_sent_from_midnight()
    members = members_add(4, birthday=birthday_today(in_clinic))
    ids = [m.pk for m in members]

    first = run_and_wait(birthday_offers_grant, in_clinic)
    effects = (birthday_grants().filter(member_id__in=ids).count(),
               Entry.objects.filter(source_type="birthday", account__member_id__in=ids).count(),
               Message.objects.filter(member_id__in=ids).count())
    second = run_and_wait(birthday_offers_grant, in_clinic)

    assert first.counts["granted"] >= 4 and first.counts["messages_queued"] >= 4
    assert effects == (4, 4, 4)
    assert second.counts["granted"] == 0
    assert (birthday_grants().filter(member_id__in=ids).count(),
            Entry.objects.filter(source_type="birthday", account__member_id__in=ids).count(),
            Message.objects.filter(member_id__in=ids).count()) == effects
    # The worker delivers the queued messages after the commit (development log backend).
    until(lambda: Message.objects.filter(member_id__in=ids, status=Message.Status.SENT).count() == 4)
    assert ledger_verify() == []


def test_point_expiry_runs_on_a_real_worker_once_per_lot(celery_worker_process, in_clinic):
    members = members_add(3)
    past = timezone.now() - timedelta(hours=1)
    for member in members:
        points_give(member, 100, at=past - timedelta(days=400), expires_at=past)
        points_give(member, 30, expires_at=timezone.now() + timedelta(days=300))

    first = run_and_wait(points_expire, in_clinic)
    second = run_and_wait(points_expire, in_clinic)

    ids = [m.pk for m in members]
    assert first.counts["lots_expired"] >= 3 and second.counts == {"lots_expired": 0, "coupons_expired": 0}
    assert Entry.objects.filter(kind=Entry.Kind.EXPIRE, account__member_id__in=ids).count() == 3
    assert set(Account.objects.filter(member_id__in=ids).values_list("balance", flat=True)) == {30}
    assert ledger_verify() == []


def test_expiry_warnings_run_on_a_real_worker_once_per_member_and_day(celery_worker_process, in_clinic):
    members = members_add(2)
    for member in members:
        points_give(member, 70, expires_at=timezone.now() + timedelta(days=10))

    first = run_and_wait(points_expiry_warn, in_clinic)
    second = run_and_wait(points_expiry_warn, in_clinic)

    ids = [m.pk for m in members]
    assert first.counts["warnings_queued"] >= 2 and second.counts["warnings_queued"] == 0
    warnings = Message.objects.filter(member_id__in=ids, purpose=Purpose.POINTS_EXPIRY_WARNING)
    assert warnings.count() == 2
    until(lambda: warnings.filter(status=Message.Status.SENT).count() == 2)


def test_the_predictive_clv_fit_runs_on_a_real_worker_and_a_second_run_changes_nothing(celery_worker_process,
                                                                                      in_clinic):
    first = run_and_wait(customer_value_fit_nightly, in_clinic)
    second = run_and_wait(customer_value_fit_nightly, in_clinic)

    assert first.counts == {"fits_made": 1, "members_predicted": 0}
    assert second.counts == {"fits_made": 0, "members_predicted": 0}
    fit = CustomerValueFit.objects.get(cutoff_on=local_date(timezone.now()) - timedelta(days=1))
    assert fit.status == "not_enough_history"


def test_tier_evaluation_runs_on_a_real_worker_and_a_second_run_changes_nothing(celery_worker_process,
                                                                               in_clinic):
    owner = User.objects.get(username="owner")
    programme_update(grace_days=0)
    silver = Tier.objects.get(rank=1)
    [member] = members_add(1)
    tier_set_manual(member=member, tier=silver, actor=owner, reason="VIP 迁移",
                    at=timezone.now() - timedelta(days=90))

    first = run_and_wait(tiers_evaluate_nightly, in_clinic)
    second = run_and_wait(tiers_evaluate_nightly, in_clinic)

    assert first.counts["downgraded"] >= 1
    assert (second.counts["downgraded"], second.counts["upgraded"]) == (0, 0)
    assert MemberTier.objects.get(member=member).tier.rank == 0


def tasks_taken(hostname: str, task) -> int:
    """How many of `task` the worker has taken. The worker's pool is solo, so it answers only
    between tasks: once the count includes a task, that task has finished."""
    stats = celery_app.control.inspect(destination=[hostname], timeout=1).stats() or {}
    return stats.get(hostname, {}).get("total", {}).get(task.name, 0)


@dataclass
class ReminderSchedule:
    """A practitioner at a location, working every day 09:00-18:00, and a 45-minute treatment, in
    a clinic whose reminder plan is one week before: a booking in the next days planned a week
    ago has its reminder due now."""

    practitioner: Practitioner
    treatment: CatalogueItem
    day: date

    def book(self, member: Member, hour: int, days_later: int = 0):
        on = self.day + timedelta(days=days_later)
        return booking_create(member=member, treatment=self.treatment, actor=None, practitioner=self.practitioner,
                              starts_at=datetime.combine(on, time(hour), tzinfo=connection.tenant.zone),
                              now=timezone.now() - timedelta(days=7))


def reminder_schedule(tag: str) -> ReminderSchedule:
    appointment_policy_update(actor=None, reminder_minutes=[10080])
    location = location_create(name=f"作业店 {tag}")
    treatment = catalogue_item_create(kind="treatment", name=f"清洁面护 {tag}", sku=f"FACE-{tag}",
                                      price=Decimal("300.00"), duration_minutes=45,
                                      category=category_create(name=f"护理 {tag}", code=f"care-{tag}"))
    user = staff_create(username=f"dr-{tag}", email=f"dr-{tag}@jobsclinic.test", full_name="李医生",
                        role=Role.PRACTITIONER, password=TEST_PASSWORD)
    practitioner = practitioner_create(user=user, treatments=[treatment])
    working_hours_set(practitioner=practitioner, periods=[
        Period(location_id=location.pk, weekday=weekday, starts=time(9), ends=time(18)) for weekday in range(7)])
    return ReminderSchedule(practitioner=practitioner, treatment=treatment,
                            day=local_date(timezone.now()) + timedelta(days=2))


def test_appointment_reminders_run_on_a_real_worker_once_per_booking_and_kind(celery_worker_process,
                                                                             in_clinic):
    schedule = reminder_schedule("twice")
    book = schedule.book
    day = schedule.day
    first_member, second_member, cancelling, late = members_add(4)
    booked = [book(first_member, 10), book(second_member, 11)]
    booking_cancel(booking=book(cancelling, 12), actor=None, reason="出差")
    reminders = Message.objects.filter(purpose=Purpose.APPOINTMENT_REMINDER,
                                       member__in=[first_member, second_member, cancelling, late])
    taken_before = tasks_taken(celery_worker_process, appointment_reminders_send)

    first = run_and_wait(appointment_reminders_send, in_clinic)
    second_sent = timezone.now()
    appointment_reminders_send.apply_async()
    until(lambda: tasks_taken(celery_worker_process, appointment_reminders_send) >= taken_before + 2)

    assert first.counts["reminders_sent"] == 2
    assert sorted(reminders.values_list("member_id", flat=True)) == [first_member.pk, second_member.pk]
    assert set(Reminder.objects.filter(booking__in=booked).values_list("status", flat=True)) == {"sent"}
    # The second run found nothing due: no message, and no job-run row.
    assert reminders.count() == 2
    assert not JobRun.objects.filter(job=appointment_reminders_send.name, clinic=in_clinic,
                                     started_at__gte=second_sent).exists()
    # The worker delivers them after the commit (development log backend).
    until(lambda: reminders.filter(status=Message.Status.SENT).count() == 2)
    assert all(f"{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]} 1" in message.body
               for message in reminders.all())

    later = book(late, 10, days_later=1)
    third = run_and_wait(appointment_reminders_send, in_clinic)

    assert third.counts["reminders_sent"] == 1
    assert reminders.count() == 3 and reminders.filter(member=late).count() == 1
    assert Reminder.objects.get(booking=later).status == Reminder.Status.SENT


# A worker killed halfway -------------------------------------------------------------------------


@pytest.fixture
def killable_worker(celery_worker_process) -> Iterator[subprocess.Popen]:
    """A second real worker, on its own queue, for a test to kill with SIGKILL."""
    hostname = f"killable-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test",
           "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_BROKER_KEY_PREFIX": settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]}
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "clinic_loyalty", "worker", "--pool=solo", "-Q", KILLABLE_QUEUE,
         "--hostname", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=WARNING"], cwd=settings.BASE_DIR, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: celery_app.control.ping(destination=[hostname], timeout=0.5), timeout=30)
    yield worker
    if worker.poll() is None:
        worker.kill()
    worker.wait()


def kill_mid_batch(worker: subprocess.Popen, task, *, blocker: Account, done, **kwargs) -> int:
    """Send `task` to the killable worker while this test holds `blocker`'s row lock, so the batch
    that needs it cannot finish; wait until the earlier batches are committed, kill the worker
    with SIGKILL, then let go of the lock. Returns what was done when it died."""
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=blocker.pk)
        task.apply_async(kwargs=kwargs, queue=KILLABLE_QUEUE)
        until(done, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        return done()


def test_birthday_offers_killed_mid_batch_are_completed_by_the_next_run(killable_worker, in_clinic):
    day = birthday_today(in_clinic)
    members = members_add(20, birthday=day)
    ids = [m.pk for m in members]
    birthday_offer_update(actor=None, bonus_points=10)
    birthday_sent_from_midnight()
    granted = birthday_grants().filter(member_id__in=ids)
    blocker = Account.objects.get(member=members[12])

    partial = kill_mid_batch(killable_worker, birthday_offers_grant, blocker=blocker, batch_size=4,
                             done=lambda: granted.count() >= 12 and granted.count())

    assert partial == 12  # three whole batches of four; the fourth died with the worker
    assert Entry.objects.filter(source_type="birthday", account__member_id__in=ids).count() == 12

    run_and_wait(birthday_offers_grant, in_clinic)

    assert granted.count() == 20
    per_member = Entry.objects.filter(source_type="birthday", account__member_id__in=ids).values(
        "account__member_id").annotate(n=Count("id"))
    assert sorted(row["account__member_id"] for row in per_member) == sorted(ids)
    assert {row["n"] for row in per_member} == {1}
    assert Message.objects.filter(member_id__in=ids, purpose=Purpose.BIRTHDAY_OFFER).count() == 20
    assert ledger_verify() == []


def test_point_expiry_killed_mid_batch_is_completed_by_the_next_run(killable_worker, in_clinic):
    members = members_add(10)
    past = timezone.now() - timedelta(minutes=30)
    for member in members:
        points_give(member, 40, at=past - timedelta(days=800), expires_at=past)
        points_give(member, 60, at=past - timedelta(days=800), expires_at=past - timedelta(days=1))
    accounts = sorted(Account.objects.filter(member__in=members).values_list("pk", flat=True))
    expired = Entry.objects.filter(kind=Entry.Kind.EXPIRE, account_id__in=accounts)

    partial = kill_mid_batch(killable_worker, points_expire, blocker=Account.objects.get(pk=accounts[6]),
                             accounts_per_batch=3, done=lambda: expired.count() >= 12 and expired.count())

    assert partial == 12  # two batches of three accounts, two lots each
    run_and_wait(points_expire, in_clinic)

    assert expired.count() == 20
    assert expired.values("source_id").distinct().count() == 20
    assert not Lot.objects.filter(account_id__in=accounts, remaining__gt=0).exists()
    assert set(Account.objects.filter(pk__in=accounts).values_list("balance", flat=True)) == {0}
    assert ledger_verify() == []


def test_appointment_reminders_killed_mid_batch_are_completed_by_the_next_run(killable_worker, in_clinic):
    schedule = reminder_schedule("killed")
    members = members_add(9)
    bookings = [schedule.book(member, 9 + n) for n, member in enumerate(members)]
    blocked = Reminder.objects.get(booking=bookings[4])
    reminders = Message.objects.filter(purpose=Purpose.APPOINTMENT_REMINDER, member__in=members)
    sent = Reminder.objects.filter(booking__in=bookings, status=Reminder.Status.SENT)

    # This test writes the message of the fifth reminder without committing, so the job's insert of
    # that guard key waits in the second batch of three, with the first batch committed.
    with transaction.atomic():
        Message.objects.create(member=members[4], channel="sms", purpose=Purpose.APPOINTMENT_REMINDER,
                               status=Message.Status.SKIPPED, skip_reason=Message.SkipReason.NO_TEMPLATE,
                               guard_key=reminder_guard_key(blocked), created_at=timezone.now())
        appointment_reminders_send.apply_async(kwargs={"batch": 3}, queue=KILLABLE_QUEUE)
        until(lambda: sent.count() >= 3, timeout=60)
        killable_worker.send_signal(signal.SIGKILL)
        killable_worker.wait(timeout=10)
        transaction.set_rollback(True)

    assert sent.count() == 3 and reminders.count() == 3  # the first batch; the second died with the worker
    run_and_wait(appointment_reminders_send, in_clinic)

    assert sent.count() == 9
    assert sorted(reminders.values_list("member_id", flat=True)) == sorted(m.pk for m in members)
    assert reminders.values("guard_key").distinct().count() == 9
