"""Creating clinics: a clinic's schema is cloned from a migrated template schema, so creating
one takes the same few seconds however many migrations the project has."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import User
from accounts.roles import Role
from accounts.services import roles_sync, staff_create
from appointments.schedule import appointment_defaults_install
from campaigns.services import birthday_offer_install
from clinics.context import clinic_host
from clinics.models import Clinic, ClinicEvent, Domain
from clinics.slugs import validate_clinic_slug
from feedback.services import feedback_defaults_install
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
    """Create (if needed) and migrate the template schema every new clinic is cloned from."""
    connection.set_schema_to_public()
    if not schema_exists(TEMPLATE_SCHEMA):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
    call_command("migrate_schemas", schema_name=TEMPLATE_SCHEMA, tenant=True,
                 interactive=False, verbosity=verbosity)
    with schema_context(TEMPLATE_SCHEMA):
        clinic_defaults_install()


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


def platform_migrate(*, verbosity: int = 0) -> None:
    """Migrate the public schema, the template, then every clinic."""
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
    public_tenant_ensure()
    template_schema_migrate(verbosity=verbosity)
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
    for clinic in Clinic.objects.exclude(schema_name=get_public_schema_name()):
        with schema_context(clinic.schema_name):
            clinic_defaults_install()


def clinic_create(*, slug: str, name: str, owner: OwnerSpec, actor: str,
                  time_zone: str = "Asia/Shanghai", language: str = "zh-hans",
                  currency: str = "CNY") -> Clinic:
    """Provision a clinic: its row and domain, its schema, its roles and its owner account."""
    slug = slug.strip().lower()
    validate_clinic_slug(slug)
    if Clinic.objects.filter(schema_name=slug).exists():
        raise ValidationError({"slug": _("A clinic with this name already exists.")})
    if not schema_exists(TEMPLATE_SCHEMA):
        raise ValidationError(_("The clinic template is missing; run “manage.py migrate_platform” first."))
    clinic = Clinic(schema_name=slug, name=name.strip(), time_zone=time_zone,
                    language=language, currency=currency)
    clinic.full_clean()
    with transaction.atomic():
        clinic.save()
        Domain.objects.create(domain=clinic_host(clinic), tenant=clinic, is_primary=True)
        CloneSchema().clone_schema(TEMPLATE_SCHEMA, slug, "DATA")
        with schema_context(slug):
            clinic_defaults_install()
            tier_programme_install_default(language=clinic.language)
            staff_create(username=owner.username, email=owner.email, full_name=owner.full_name,
                         password=owner.password, role=Role.OWNER)
        ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.CREATED, actor=actor)
    return clinic


def clinic_owner(clinic: Clinic) -> User | None:
    with schema_context(clinic.schema_name):
        return User.objects.filter(groups__name=Role.OWNER.value).order_by("pk").first()
