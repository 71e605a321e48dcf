import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from accounts.roles import Role
from clinics.models import Clinic, ClinicEvent, Domain
from clinics.platform.provisioning import OwnerSpec, clinic_create

OWNER = OwnerSpec(username="boss", email="boss@new.test", full_name="赵老板", password="Long-enough-9")


@pytest.fixture
def in_public(db):
    connection.set_schema_to_public()


def test_clinic_create_gives_schema_domain_roles_and_owner(in_public):
    clinic = clinic_create(slug="newclinic", name="新诊所", owner=OWNER, actor="tests")

    assert schema_exists("newclinic")
    assert Domain.objects.get(tenant=clinic).domain == "newclinic.localhost"
    assert (clinic.time_zone, clinic.language, clinic.currency) == ("Asia/Shanghai", "zh-hans", "CNY")
    assert ClinicEvent.objects.get(clinic=clinic).kind == ClinicEvent.Kind.CREATED
    with schema_context("newclinic"):
        owner = User.objects.get()
        assert owner.username == "boss"
        assert owner.role == Role.OWNER
        assert owner.check_password("Long-enough-9")
        assert owner.has_perm("accounts.manage_staff")
        assert not owner.has_perm("accounts.view_medical")


@pytest.mark.parametrize("slug", ["www", "admin", "api", "public", "pg_x", "ab", "Has-Caps", "1abc", "a b"])
def test_clinic_create_refuses_bad_or_reserved_slugs(in_public, slug):
    with pytest.raises(ValidationError):
        clinic_create(slug=slug, name="X", owner=OWNER, actor="tests")
    assert not Clinic.objects.filter(name="X").exists()


def test_clinic_create_refuses_a_taken_slug(in_public):
    with pytest.raises(ValidationError) as exc:
        clinic_create(slug="testclinic", name="Again", owner=OWNER, actor="tests")
    assert "slug" in exc.value.message_dict


def test_clinic_create_refuses_an_unknown_time_zone(in_public):
    with pytest.raises(ValidationError):
        clinic_create(slug="tzclinic", name="TZ", owner=OWNER, actor="tests", time_zone="Mars/Base")
    assert not schema_exists("tzclinic")


def test_a_failed_owner_leaves_no_half_made_clinic(in_public):
    bad_owner = OwnerSpec(username="", email="not-an-email", full_name="")
    with pytest.raises(ValidationError):
        clinic_create(slug="halfmade", name="Half", owner=bad_owner, actor="tests")
    assert not Clinic.objects.filter(schema_name="halfmade").exists()
    assert not schema_exists("halfmade")
