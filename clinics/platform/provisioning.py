"""Creating clinics: a clinic's schema is copied from a migrated template schema, so creating
one takes the same few seconds however many migrations the project has."""

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings
from django.utils.translation import gettext as _
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import User
from accounts.roles import Role
from accounts.services import roles_sync, staff_create
from appointments.schedule import appointment_defaults_install
from campaigns.services import birthday_offer_install
from clinics.context import clinic_host
from clinics.models import Clinic, ClinicEvent, Domain
from clinics.platform.schema_copy import schema_copy
from clinics.platform.slugs import validate_clinic_slug
from feedback.services import feedback_defaults_install
from insights.rollups import rollups_rebuild
from messaging.services import messaging_defaults_install
from points.rules import loyalty_settings_install
from tiers.services import tier_programme_install_default

TEMPLATE_SCHEMA = settings.TENANT_BASE_SCHEMA


@dataclass(frozen=True)
class OwnerSpec:
    username: str
    email: str
    full_name: str
    password: str | None = None


def template_schema_migrate(*, verbosity: int = 0) -> None:
    """Create (if needed) and migrate the template schema every new clinic is copied from."""
    connection.set_schema_to_public()
    if not schema_exists(TEMPLATE_SCHEMA):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
    call_command("migrate_schemas", schema_name=TEMPLATE_SCHEMA, tenant=True,
                 interactive=False, verbosity=verbosity)
    with schema_context(TEMPLATE_SCHEMA):
        clinic_defaults_install()
    schema_defaults_mark(TEMPLATE_SCHEMA, template_digest())


def clinic_defaults_install() -> None:
    """Everything a clinic starts with, whatever its language: roles and their permissions, and
    the default loyalty settings, booking policy and reminder plan, messaging rules and message
    templates (zh-Hans and English), and the birthday offer. Idempotent; runs in the current
    clinic's schema."""
    roles_sync()
    loyalty_settings_install()
    appointment_defaults_install()
    messaging_defaults_install()
    birthday_offer_install()
    feedback_defaults_install()


def public_tenant_ensure() -> Clinic:
    """The public schema's own row, so that the platform host resolves to the console."""
    public, _created = Clinic.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "Clinic Loyalty"})
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN,
                                 defaults={"tenant": public, "is_primary": True})
    return public


@dataclass
class PlatformMigration:
    """What `platform_migrate` did, and how long each step took (seconds)."""
    clinics: int = 0
    behind: list[str] = field(default_factory=list)
    defaults: int = 0  # clinics whose defaults were re-installed
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in self.seconds.items())
        return f"{self.clinics} clinics, {len(self.behind)} migrated, {self.defaults} given defaults; {steps}"


def migrations_expected() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Every migration on disk (squashed ones standing for those they replace), with what it
    replaces. A schema is up to date when each is recorded in its django_migrations, or all
    that it replaces are (Django records a squashed migration's parts until all are applied)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return {key: tuple(graph.nodes[key].replaces or ()) for key in graph.nodes}


def schemas_behind(schemas: Sequence[str]) -> list[str]:
    """The schemas, of those given, that miss a migration on disk: one query per schema against
    its own django_migrations, instead of a full `migrate` (which loads and renders the
    migration graph and runs the post-migrate handlers) in each."""
    expected = migrations_expected()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.tables "
                       "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
                       [list(schemas)])
        recorded = {row[0] for row in cursor.fetchall()}
        behind = []
        for schema in schemas:
            if schema not in recorded:
                behind.append(schema)
                continue
            # The schema name is a clinic's, quoted as an identifier.
            cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")  # noqa: S608
            applied = set(cursor.fetchall())
            if any(key not in applied and not (replaces and applied.issuperset(replaces))
                   for key, replaces in expected.items()):
                behind.append(schema)
    return behind


def clinic_schemas_migrate(schemas: Sequence[str], *, processes: int = 1, verbosity: int = 0) -> None:
    """`migrate_schemas --tenant` for these schemas only, in `processes` parallel processes
    (django-tenants' multiprocessing executor) when there is more than one."""
    if not schemas:
        return
    parser = MigrateSchemasCommand().create_parser("manage.py", "migrate_schemas")
    options = vars(parser.parse_args(["--tenant", "--noinput", f"--verbosity={verbosity}"]))
    options["skip_checks"] = True
    parallel = processes > 1 and len(schemas) > 1
    executor = get_executor("multiprocessing" if parallel else "standard")([], options)
    with override_settings(TENANT_MULTIPROCESSING_MAX_PROCESSES=processes):
        executor.run_migrations(tenants=list(schemas))
    connection.set_schema_to_public()


DEFAULTS_MARK = "clinic-loyalty defaults "


def template_digest() -> str:
    """A digest of everything in the template schema (its tables hold only the defaults, and its
    django_migrations the migrations): it changes when a deployment changes a default."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                       [TEMPLATE_SCHEMA])
        tables = [row[0] for row in cursor.fetchall()]
        parts = " UNION ALL ".join(
            f"SELECT {index} AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS d "  # noqa: S608
            f"FROM {quote(TEMPLATE_SCHEMA)}.{quote(table)} t"
            for index, table in enumerate(tables))
        cursor.execute(f"SELECT md5(string_agg(d, '' ORDER BY n)) FROM ({parts}) digests")  # noqa: S608
        return cursor.fetchone()[0]


def schemas_defaults_marks() -> dict[str, str]:
    """Each schema's defaults mark: the template digest its defaults were last installed at,
    kept as the schema's comment (one query for the whole fleet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace")
        return {name: (comment or "").removeprefix(DEFAULTS_MARK) for name, comment in cursor.fetchall()
                if (comment or "").startswith(DEFAULTS_MARK)}


def schema_defaults_mark_copy(schema_name: str) -> None:
    """Give a schema copied from the template the template's mark: it has its defaults."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regnamespace, 'pg_namespace')", [quote(TEMPLATE_SCHEMA)])
        comment = cursor.fetchone()[0]
        if comment:
            cursor.execute(f"COMMENT ON SCHEMA {quote(schema_name)} IS %s", [comment])


def schema_defaults_mark(schema_name: str, digest: str) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {quote(schema_name)} IS %s", [DEFAULTS_MARK + digest])


@dataclass(frozen=True)
class _DefaultsInstall:
    digest: str

    def __call__(self, schema_names: Sequence[str]) -> None:
        try:
            for schema_name in schema_names:
                with transaction.atomic(), schema_context(schema_name):
                    clinic_defaults_install()
                    schema_defaults_mark(schema_name, self.digest)
        finally:
            connections.close_all()


def in_processes(work: Callable[[Sequence[str]], None], schemas: Sequence[str], processes: int) -> None:
    """Run `work` over the schemas split across `processes` forked processes (each opens its own
    database connection), or here when one is asked for."""
    if processes <= 1 or len(schemas) <= 1:
        work(schemas)
        return
    connections.close_all()  # no connection may be shared with the children
    chunks = [schemas[index::processes] for index in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(work, chunks)


def platform_migrate(*, verbosity: int = 0, processes: int = 1,
                     every_schema: bool = False) -> PlatformMigration:
    """Migrate the public schema, the template, then every clinic that is behind (or every
    clinic, with `every_schema`), then re-install the defaults of the clinics that were migrated
    or whose defaults predate the template's. `processes` > 1 runs the clinics' migrations and
    defaults in that many parallel processes."""
    report = PlatformMigration()

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        report.seconds[name] = now - started
        return now

    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
    public_tenant_ensure()
    template_schema_migrate(verbosity=verbosity)
    started = step("public and template", started)
    schemas = list(Clinic.objects.exclude(schema_name=get_public_schema_name())
                   .order_by("schema_name").values_list("schema_name", flat=True))
    report.clinics = len(schemas)
    report.behind = list(schemas) if every_schema else schemas_behind(schemas)
    started = step("check", started)
    clinic_schemas_migrate(report.behind, processes=processes, verbosity=verbosity)
    started = step("migrate clinics", started)
    # Defaults are re-installed where the template's changed since they were last installed
    # (or the schema was migrated): at a thousand clinics, installing them everywhere on every
    # deployment would take minutes.
    marks = schemas_defaults_marks()
    digest = marks[TEMPLATE_SCHEMA]
    behind = set(report.behind)
    stale = [schema for schema in schemas if schema in behind or marks.get(schema) != digest]
    report.defaults = len(stale)
    in_processes(_DefaultsInstall(digest), stale, processes)
    connection.set_schema_to_public()
    step("clinic defaults", started)
    return report


def clinic_create(*, slug: str, name: str, owner: OwnerSpec, actor: str,
                  time_zone: str = "Asia/Shanghai", language: str = "zh-hans",
                  currency: str = "CNY") -> Clinic:
    """Provision a clinic: its row and domain, its schema, its roles and its owner account."""
    slug = slug.strip().lower()
    validate_clinic_slug(slug)
    if Clinic.objects.filter(schema_name=slug).exists() or schema_exists(slug):
        raise ValidationError({"slug": _("A clinic with this name already exists.")})
    if not schema_exists(TEMPLATE_SCHEMA):
        raise ValidationError(_("The clinic template is missing; run “manage.py migrate_platform” first."))
    clinic = Clinic(schema_name=slug, name=name.strip(), time_zone=time_zone,
                    language=language, currency=currency)
    clinic.full_clean()
    with transaction.atomic():
        clinic.save()
        Domain.objects.create(domain=clinic_host(clinic), tenant=clinic, is_primary=True)
        schema_copy(TEMPLATE_SCHEMA, slug)
        with schema_context(slug):
            clinic_defaults_install()
            rollups_rebuild(clinic.time_zone)
            tier_programme_install_default(language=clinic.language)
            staff_create(username=owner.username, email=owner.email, full_name=owner.full_name,
                         password=owner.password, role=Role.OWNER)
        schema_defaults_mark_copy(slug)
        ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.CREATED, actor=actor)
    return clinic


def clinic_owner(clinic: Clinic) -> User | None:
    with schema_context(clinic.schema_name):
        return User.objects.filter(groups__name=Role.OWNER.value).order_by("pk").first()
