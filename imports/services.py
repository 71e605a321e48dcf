"""CSV imports of members, historical visits and opening point balances from another system.

Every import first reads and checks every row of the file, collecting all errors with their
line and column; then, in the same transaction, writes the rows in bulk. In strict mode (the
default) a file with any error imports nothing; with `skip_errors` the valid rows are imported
and the others reported as skipped. Rows imported by an earlier run are recognised and left
alone. Imports in one clinic run one at a time, and every run is recorded as an ImportRun."""

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import IO, Protocol

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.errors import UniqueViolation

from accounts.models import User
from imports import balances_csv, members_csv, visits_csv
from imports.models import ImportRun
from imports.reading import MAX_FILE_BYTES, Columns, FileRejected, Row, RowError, csv_read

logger = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import did. `rows` counts the file's data rows; each was imported, skipped for
    an error (skip mode only), or recognised as imported before. `created` counts the records
    made: members, visits, or opening entries."""

    kind: str
    file_name: str
    skip_errors: bool
    status: str = ImportRun.Status.REJECTED
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    already_imported: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    duration: float = 0.0
    run_id: int | None = None

    @property
    def rejected(self) -> bool:
        return self.status == ImportRun.Status.REJECTED


class _Batch(Protocol):
    errors: list[RowError]
    already_imported: int

    @property
    def valid_rows(self) -> int: ...

    def write(self, *, run: ImportRun, actor: User | None) -> int: ...


_KINDS: dict[str, tuple[Columns, Callable[..., _Batch]]] = {
    ImportRun.Kind.MEMBERS: (members_csv.COLUMNS, members_csv.members_prepare),
    ImportRun.Kind.VISITS: (visits_csv.COLUMNS, visits_csv.visits_prepare),
    ImportRun.Kind.BALANCES: (balances_csv.COLUMNS, balances_csv.balances_prepare),
}


def import_columns(kind: str) -> Columns | None:
    """The columns of an import kind, None for an unknown kind."""
    entry = _KINDS.get(kind)
    return entry[0] if entry else None


def members_import(*, file: IO[bytes], actor: User | None, skip_errors: bool = False) -> ImportReport:
    """Members with their profile, tags, consents and referrer. A phone or member number that
    is already in the clinic (or twice in the file) is an error naming the other member. No
    sign-up bonus is given: the registration steps are not run for imported members."""
    return csv_import(kind=ImportRun.Kind.MEMBERS, file=file, actor=actor, skip_errors=skip_errors)


def visits_import(*, file: IO[bytes], actor: User | None, skip_errors: bool = False) -> ImportReport:
    """Historical visits, one per member and receipt (external_ref), with their lines and
    payments. They earn no points; tiers are evaluated afterwards so that they count."""
    return csv_import(kind=ImportRun.Kind.VISITS, file=file, actor=actor, skip_errors=skip_errors)


def balances_import(*, file: IO[bytes], actor: User | None, skip_errors: bool = False) -> ImportReport:
    """Opening point balances: one opening entry and lot per row, with the original earning
    date and expiry."""
    return csv_import(kind=ImportRun.Kind.BALANCES, file=file, actor=actor, skip_errors=skip_errors)


# Called at each stage of an import with the stage and how many rows it covers, for a page that
# shows progress (the import itself is one transaction, invisible to others until it commits).
Progress = Callable[[str, int], None]


def _no_progress(stage: str, rows: int) -> None:
    return None


def csv_import(*, kind: str, file: IO[bytes], actor: User | None, skip_errors: bool = False,
               progress: Progress = _no_progress) -> ImportReport:
    """Import a CSV file of `kind` (an ImportRun.Kind). The file's name is taken from
    `file.name`, if it has one. `progress` hears "checking" (with the number of rows read),
    "writing" (the rows to write) and "finished"."""
    columns, prepare = _KINDS[kind]
    clock = time.perf_counter()
    started_at = timezone.now()
    content = file.read(MAX_FILE_BYTES + 1)
    report = ImportReport(kind=kind, file_name=PurePath(getattr(file, "name", "") or "").name[:255],
                          skip_errors=skip_errors)
    with transaction.atomic():
        _imports_lock()
        run = ImportRun.objects.create(kind=kind, file_name=report.file_name, actor=actor,
                                       sha256=hashlib.sha256(content).hexdigest(), skip_errors=skip_errors,
                                       status=report.status, started_at=started_at, finished_at=started_at)
        try:
            rows = csv_read(content, columns=columns)
        except FileRejected as exc:
            report.errors = exc.errors
        else:
            progress("checking", len(rows))
            _import_rows(rows, prepare=prepare, report=report, run=run, actor=actor, now=started_at,
                         progress=progress)
        report.duration = time.perf_counter() - clock
        _run_finish(run, report)
    progress("finished", report.rows)
    return report


def _import_rows(rows: list[Row], *, prepare: Callable[..., _Batch], report: ImportReport, run: ImportRun,
                 actor: User | None, now: datetime, progress: Progress) -> None:
    report.rows = len(rows)
    batch = prepare(rows, now=now)
    report.errors = sorted(batch.errors, key=lambda error: error.line or 0)
    report.already_imported = batch.already_imported
    if batch.errors and not (report.skip_errors and batch.valid_rows):
        return
    if not batch.valid_rows:
        report.status = ImportRun.Status.COMPLETED
        return
    progress("writing", batch.valid_rows)
    try:
        with transaction.atomic():
            report.created = batch.write(run=run, actor=actor)
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, UniqueViolation):
            raise
        logger.warning("Import %s ran into a concurrent change", run.pk, exc_info=True)
        report.errors.append(RowError(None, "", _(
            "The clinic's data changed while the file was being imported, so nothing was imported. "
            "Please import the file again.")))
        return
    report.imported = batch.valid_rows
    report.skipped = report.rows - report.imported - report.already_imported
    report.status = ImportRun.Status.PARTIAL if batch.errors else ImportRun.Status.COMPLETED


def _imports_lock() -> None:
    """Imports in one clinic run one after another (the lock is held until commit); reading
    the import history is not blocked."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(ImportRun._meta.db_table)} "
                       "IN SHARE ROW EXCLUSIVE MODE")


def _run_finish(run: ImportRun, report: ImportReport) -> None:
    run.status = report.status
    run.rows, run.imported, run.skipped = report.rows, report.imported, report.skipped
    run.already_imported, run.created = report.already_imported, report.created
    run.errors = [list(error) for error in report.errors]
    run.finished_at = timezone.now()
    run.save()
    report.run_id = run.pk
