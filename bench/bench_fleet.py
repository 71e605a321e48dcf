"""The fleet: BENCH_FLEET_CLINICS clinics (1,000) on one database.

- provisioning time per clinic, at the start and at the end (it must stay flat);
- `migrate_platform` with nothing to apply: the default (skip clinics whose django_migrations
  already holds every migration, then re-install defaults in parallel processes), and, at
  BENCH_FLEET_CHECKPOINT clinics (100), `--every-schema` (django-tenants' migrate in every
  clinic) serially and with the multiprocessing executor, to show the per-clinic cost of each;
- a real migration, a new column with a default (bench/fleet_app, installed by
  bench/fleet_settings.py; the template has its table before the clinics are made), at the
  checkpoint and across the whole fleet;
- the nightly jobs' fan-out: the dispatcher sends birthday offers, point expiry, expiry
  appointment reminders and tier evaluation to every clinic; the time for one worker
  with two pool processes to drain them.

Not part of `make bench` without arguments: `make bench ARGS=fleet`. It takes an hour or more
at 1,000 clinics. The clinics are empty (an owner and the defaults), so the figures are the
per-clinic overhead of each operation, not the work of a busy clinic.
"""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from statistics import mean

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Count

from bench.figures import Figure
from clinic_loyalty.celery import app as celery_app
from clinics.platform.provisioning import OwnerSpec, clinic_create
from clinics.platform.tasks import clinics_fan_out
from jobs.models import JobRun

CLINICS = int(os.environ.get("BENCH_FLEET_CLINICS", "1000"))
CHECKPOINT = min(CLINICS, int(os.environ.get("BENCH_FLEET_CHECKPOINT", "100")))
PROCESSES = int(os.environ.get("BENCH_FLEET_PROCESSES", "2"))
SAMPLE = 10  # clinics averaged at the start and at the end of provisioning
CATALOG_VACUUM_EVERY = 10
NOOP_TARGET_SECONDS = 120.0
FLATNESS_TARGET = 1.5  # provisioning at the end / at the start
NIGHTLY_TASKS = (
    "campaigns.tasks.birthday_offers_grant",
    "points.tasks.points_expire",
    "appointments.tasks.appointment_reminders_send",
    "tiers.tasks.tiers_evaluate_nightly",
)
SCHEMA_CATALOGS = ("pg_class", "pg_attribute", "pg_attrdef", "pg_constraint", "pg_depend", "pg_type",
                   "pg_index", "pg_trigger", "pg_namespace", "pg_sequence", "pg_description",
                   "pg_rewrite", "pg_shdepend")


def say(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_loyalty")


def catalogs_vacuum() -> None:
    """Without autovacuum (it is off on some development servers), the catalogs that a schema
    copy reads fill with dead rows and their statistics go stale; see docs/operations.md."""
    with psycopg.connect(database_url(), autocommit=True) as own:
        own.execute("VACUUM (ANALYZE) " + ", ".join(f"pg_catalog.{name}" for name in SCHEMA_CATALOGS))


def slug(number: int) -> str:
    return f"fleet{number:04d}"


def provision(numbers: range) -> list[float]:
    seconds = []
    for number in numbers:
        if number % CATALOG_VACUUM_EVERY == 0:
            catalogs_vacuum()
        # A fresh backend per clinic, as a console request or a provisioning task would have: one
        # that has made many schemas keeps their catalog entries cached and gets slower with each.
        connection.close()
        connection.set_schema_to_public()
        name = slug(number)
        started = time.perf_counter()
        clinic_create(slug=name, name=f"连锁诊所 {number}", actor="bench",
                      owner=OwnerSpec(username="owner", email=f"owner@{name}.example.com",
                                      full_name="王业主", password="Bench-owner-1"))
        seconds.append(time.perf_counter() - started)
        if (number + 1) % 50 == 0:
            say(f"{number + 1} clinics; the last 50 took {mean(seconds[-50:]):.2f} s each")
    return seconds


SUMMARY = re.compile(r"(\d+) clinics, (\d+) migrated, (\d+) given defaults; (.*)\.")


def migrate_platform(*arguments: str, settings_module: str = "clinic_loyalty.settings.test",
                     extra_env: dict[str, str] | None = None) -> tuple[float, int, int, dict[str, float]]:
    """Run `manage.py migrate_platform` as a deployment does; returns its wall time, the numbers
    of clinics it migrated and gave defaults, and the seconds of each of its steps."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, **(extra_env or {})}
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", "migrate_platform", *arguments], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"migrate_platform {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")
    found = SUMMARY.search(result.stdout)
    steps = {}
    for part in found.group(4).split(", "):
        step, seconds, _unit = part.rsplit(" ", 2)
        steps[step] = float(seconds)
    say(f"migrate_platform {' '.join(arguments)}: {elapsed:.1f} s ({found.group(0)})")
    return elapsed, int(found.group(2)), int(found.group(3)), steps


def steps_note(steps: dict[str, float]) -> str:
    return "; ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())


def migrate_figures(label: str, clinics: int, *arguments: str, target: float | None = None,
                    **kwargs) -> list[Figure]:
    elapsed, migrated, defaults, steps = migrate_platform(*arguments, **kwargs)
    return shown([
        Figure(f"{label} at {clinics}", elapsed, target=target,
               note=f"{migrated} migrated, {defaults} given defaults; {steps_note(steps)}"),
        Figure("  the same per clinic (ms)", 1000 * elapsed / clinics, unit="ms"),
    ])


def shown(figures: list[Figure]) -> list[Figure]:
    """Figures are printed at the end; a long run also shows them as they come."""
    for figure in figures:
        say(figure.line().strip())
    return figures


def worker_start(prefix: str) -> tuple[subprocess.Popen, str]:
    hostname = f"fleet-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test",
           "CELERY_BROKER_KEY_PREFIX": prefix}
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "clinic_loyalty", "worker", "--pool=prefork",
         "--concurrency=2", "--hostname", hostname, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[hostname], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the Celery worker did not start")
    return worker, hostname


def _worker_busy(hostname: str) -> bool:
    """Tasks still queued, or taken by the worker (running or prefetched)."""
    with celery_app.connection_for_write() as broker:
        queued = broker.default_channel._size("celery")  # kombu's Redis queue length
    inspect = celery_app.control.inspect(destination=[hostname], timeout=2)
    taken = sum(len(tasks) for found in (inspect.active(), inspect.reserved()) for tasks in (found or {}).values())
    return bool(queued or taken)


def fan_out_figures(clinics: int) -> list[Figure]:
    """The nightly tasks sent to every clinic and drained by one worker. Drained means the queue
    is empty and the worker holds nothing, twice in a row a second apart: the appointment
    reminders of a clinic with nothing due leave no job run to count."""
    connection.set_schema_to_public()
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    JobRun.objects.all().delete()
    celery_app.loader.import_default_modules()  # the tasks the dispatcher looks up by name
    worker, hostname = worker_start(prefix)
    try:
        started = time.perf_counter()
        for task_name in NIGHTLY_TASKS:
            clinics_fan_out.apply(args=(task_name,))
        dispatched = time.perf_counter() - started
        expected = clinics * len(NIGHTLY_TASKS)
        say(f"dispatched {expected} tasks in {dispatched:.1f} s")
        idle = 0
        while idle < 2:
            if JobRun.objects.filter(status=JobRun.Status.FAILED).exists():
                break
            idle = idle + 1 if not _worker_busy(hostname) else 0
            if time.perf_counter() - started > 3600:
                raise RuntimeError(f"the {expected} nightly tasks were not drained in an hour")
            time.sleep(1)
        drained = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    if failed := list(JobRun.objects.filter(status=JobRun.Status.FAILED)[:3]):
        raise RuntimeError(f"nightly tasks failed: {[(run.job, run.error) for run in failed]}")
    recorded = dict(JobRun.objects.filter(job__in=NIGHTLY_TASKS).values_list("job").annotate(n=Count("id")))
    return shown([
        Figure(f"nightly fan-out: dispatch {expected} tasks", dispatched,
               note=f"{len(NIGHTLY_TASKS)} jobs x {clinics} clinics"),
        Figure("nightly fan-out: drained by 1 worker x 2 processes", drained,
               note=f"{1000 * drained / expected:.0f} ms per task; 0 failed; job runs recorded: "
                    + ", ".join(f"{job.rsplit('.', 1)[-1]} {recorded.get(job, 0)}" for job in NIGHTLY_TASKS)),
    ])


def main() -> list[Figure]:
    connection.set_schema_to_public()
    # The template gets bench/fleet_app's table, so every clinic is copied with it.
    migrate_platform(settings_module="bench.fleet_settings", extra_env={"BENCH_FLEET_MIGRATIONS": "first"})
    say(f"provisioning {CLINICS} clinics ({CHECKPOINT} first)")
    seconds = provision(range(CHECKPOINT))
    figures = shown([Figure(f"clinic_create, mean of the first {SAMPLE}", mean(seconds[:SAMPLE]))])
    # At the checkpoint: what a no-op migrate costs per clinic each way, and a real one.
    figures += migrate_figures(f"no-op migrate_platform, skip, {PROCESSES} processes", CHECKPOINT,
                               f"--processes={PROCESSES}")
    figures += migrate_figures("no-op migrate_platform, skip, serial", CHECKPOINT, "--processes=1")
    figures += migrate_figures("no-op --every-schema, serial", CHECKPOINT, "--every-schema",
                               "--processes=1")
    figures += migrate_figures(f"no-op --every-schema, {PROCESSES} processes", CHECKPOINT,
                               "--every-schema", f"--processes={PROCESSES}")
    figures += migrate_figures(f"add a column with a default, {PROCESSES} processes", CHECKPOINT,
                               f"--processes={PROCESSES}", settings_module="bench.fleet_settings",
                               extra_env={"BENCH_FLEET_MIGRATIONS": "second"})
    seconds += provision(range(CHECKPOINT, CLINICS))
    catalogs_vacuum()
    start, end = mean(seconds[:SAMPLE]), mean(seconds[-SAMPLE:])
    figures += shown([
        Figure(f"clinic_create, mean of the last {SAMPLE} (at {CLINICS})", end),
        Figure("  end / start", end / start, unit="x", target=FLATNESS_TARGET),
        Figure(f"clinic_create, mean of all {CLINICS}", mean(seconds), note=f"slowest {max(seconds):.2f} s"),
    ])
    figures += migrate_figures(f"no-op migrate_platform, skip, {PROCESSES} processes", CLINICS,
                               f"--processes={PROCESSES}", target=NOOP_TARGET_SECONDS)
    figures += fan_out_figures(CLINICS)
    figures += migrate_figures(f"no-op --every-schema, {PROCESSES} processes", CLINICS,
                               "--every-schema", f"--processes={PROCESSES}")
    figures += migrate_figures(f"add a column with a default, {PROCESSES} processes", CLINICS,
                               f"--processes={PROCESSES}", settings_module="bench.fleet_settings")
    return figures
