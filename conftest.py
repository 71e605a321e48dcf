"""Test harness: one test clinic is provisioned once per session (committed, in its own
PostgreSQL schema) and every database test runs inside it, in a transaction rolled back at the
end. Tests that need a second clinic create it through the real provisioning service."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_create
from clinics.context import clinic_host
from clinics.models import Clinic
from clinics.provisioning import OwnerSpec, clinic_create, platform_migrate

TEST_CLINIC_SLUG = "testclinic"
TEST_PASSWORD = "Correct-horse-42"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        platform_migrate()
        clinic_create(slug=TEST_CLINIC_SLUG, name="测试诊所", actor="tests",
                      owner=OwnerSpec(username="owner", email="owner@testclinic.test",
                                      full_name="王业主", password=TEST_PASSWORD))
        connection.set_schema_to_public()


def _uses_db(request) -> bool:
    names = set(request.fixturenames)
    return bool(names & {"db", "transactional_db"}) or request.node.get_closest_marker("django_db")


@pytest.fixture(autouse=True)
def _in_test_clinic(request):
    """Database tests run in the test clinic's schema unless they switch on purpose."""
    if not _uses_db(request):
        yield
        return
    request.getfixturevalue("db")
    connection.set_schema_to_public()
    connection.set_tenant(Clinic.objects.get(schema_name=TEST_CLINIC_SLUG))
    yield
    connection.set_schema_to_public()


@pytest.fixture
def clinic(db) -> Clinic:
    return connection.tenant


def client_for(clinic: Clinic, user: User | None = None) -> Client:
    """A browser-like client on the clinic's own host, logged in as `user` if given."""
    client = Client(HTTP_HOST=clinic_host(clinic))
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def make_staff(db):
    counter = iter(range(1, 10_000))

    def make(role: Role, **kwargs) -> User:
        n = next(counter)
        defaults = {"username": f"{role.value}{n}", "email": f"{role.value}{n}@clinic.test",
                    "full_name": f"{role.label} {n}", "password": TEST_PASSWORD}
        return staff_create(role=role, **{**defaults, **kwargs})

    return make


@pytest.fixture
def owner(db) -> User:
    return User.objects.get(username="owner")


@pytest.fixture
def manager(make_staff) -> User:
    return make_staff(Role.MANAGER)


@pytest.fixture
def front_desk(make_staff) -> User:
    return make_staff(Role.FRONT_DESK)


@pytest.fixture
def practitioner(make_staff) -> User:
    return make_staff(Role.PRACTITIONER)


@pytest.fixture
def anon_client(clinic) -> Client:
    return client_for(clinic)


@pytest.fixture
def staff_client(clinic):
    def make(user: User) -> Client:
        return client_for(clinic, user)

    return make


@pytest.fixture
def other_clinic(db) -> Clinic:
    """A second clinic, provisioned for real inside the test's transaction."""
    connection.set_schema_to_public()
    other = clinic_create(slug="otherclinic", name="别家诊所", actor="tests",
                          owner=OwnerSpec(username="owner", email="owner@other.test",
                                          full_name="李老板", password=TEST_PASSWORD))
    connection.set_tenant(Clinic.objects.get(schema_name=TEST_CLINIC_SLUG))
    return other
