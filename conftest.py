"""Test harness: one test clinic is provisioned once per session (committed, in its own
PostgreSQL schema) and every database test runs inside it, in a transaction rolled back at the
end. Tests that need a second clinic create it through the real provisioning service."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_create
from clinic_loyalty.celery import app as celery_app
from clinics.context import clinic_host
from clinics.models import Clinic
from clinics.platform.provisioning import OwnerSpec, clinic_create, platform_migrate

TEST_CLINIC_SLUG = "testclinic"
TEST_PASSWORD = "Correct-horse-42"


def _test_database_ensure(request, django_db_blocker) -> None:
    """pytest-django creates the test database only if a collected test uses `db`; tests that use
    only committed data (`committed_db`, `committed_clinic`, `celery_worker_process`) need it too,
    or the set-up below would write to the development database."""
    if connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"]:
        return
    development_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def destroy() -> None:
        with django_db_blocker.unblock():
            connection.creation.destroy_test_db(development_name, verbosity=0)

    request.addfinalizer(destroy)


# The system catalogs that provisioning and dropping clinic schemas write to. Tests provision
# clinics inside transactions that are rolled back, which leaves dead catalog rows behind, and the
# planner's statistics of the catalogs go stale as schemas come and go; on a server with
# autovacuum off (common on CI machines) the catalog reads of copying and dropping schemas then
# slow down (with django-tenants' clone, used before `clinics.platform.schema_copy`, a clinic took
# tens of seconds instead of about one). The suite vacuums and analyses them itself.
SCHEMA_CATALOGS = ("pg_class", "pg_attribute", "pg_attrdef", "pg_constraint", "pg_depend", "pg_type",
                   "pg_index", "pg_trigger", "pg_namespace", "pg_sequence", "pg_description", "pg_proc",
                   "pg_rewrite", "pg_shdepend")
CATALOG_VACUUM_EVERY = 100  # tests


def catalog_vacuum() -> None:
    """VACUUM and ANALYZE the schema catalogs of the test database, on a connection of its own
    (VACUUM cannot run inside the transaction a test holds)."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("server_side_binding", None)
    with psycopg.connect(**params, autocommit=True) as own:
        own.execute("VACUUM (ANALYZE) " + ", ".join(f"pg_catalog.{name}" for name in SCHEMA_CATALOGS))


_tests_run = 0


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    global _tests_run
    _tests_run += 1
    if _tests_run % CATALOG_VACUUM_EVERY == 0 and connection.settings_dict["NAME"].startswith("test_"):
        catalog_vacuum()


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _test_database_ensure(request, django_db_blocker)
        platform_migrate()
        clinic_create(slug=TEST_CLINIC_SLUG, name="测试诊所", actor="tests",
                      owner=OwnerSpec(username="owner", email="owner@testclinic.test",
                                      full_name="王业主", password=TEST_PASSWORD))
        connection.set_schema_to_public()


def _uses_db(request) -> bool:
    names = set(request.fixturenames)
    return bool(names & {"db", "transactional_db"}) or request.node.get_closest_marker("django_db")


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Code a test calls directly runs in English, the source language, so its messages can be
    asserted as written. Pages and the API still choose their language per request (the clinic's
    by default); a test that wants another language uses translation.override. Also keeps the
    language a request activated from leaking into the next test."""
    with translation.override("en"):
        yield


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
        with tenant_context(clinic):
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


def console_client(user: User | None = None) -> Client:
    """A browser-like client on the platform host, logged in as `user` (an operator) if given."""
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    if user is not None:
        with schema_context(get_public_schema_name()):
            client.force_login(user)
    return client


@pytest.fixture
def operator(db) -> User:
    """A platform operator: a user of the public schema with is_staff set."""
    with schema_context(get_public_schema_name()):
        return User.objects.create_user(username="operator", email="ops@platform.test",
                                        password=TEST_PASSWORD, is_staff=True)


def until(predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy, and return that; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Still waiting after {timeout} s for {getattr(predicate, '__name__', predicate)}")


@pytest.fixture(autouse=True)
def _celery_in_process(request) -> None:
    """Tasks a test sends run at once in its own process (in the schema they were sent from),
    unless the test uses the real worker (`celery_worker_process`)."""
    eager = "celery_worker_process" not in request.fixturenames
    celery_app.conf.update(task_always_eager=eager, task_eager_propagates=eager)


@dataclass
class SmtpOutbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_outbox() -> Iterator[SmtpOutbox]:
    """A real SMTP server on a local port; the messages it has received, parsed."""
    outbox = SmtpOutbox(port=_free_port())
    controller = Controller(outbox, hostname="127.0.0.1", port=outbox.port)
    controller.start()
    yield outbox
    controller.stop()


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += f":{quote(db['PASSWORD'])}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, smtp_outbox, tmp_path_factory) -> Iterator[str]:
    """One real Celery worker for the session, on the test database, mailing to `smtp_outbox`.
    It shares this run's broker key prefix (see settings/test.py), so no other run or worker
    takes its tasks. It has its own database connection: what it must see has to be committed
    (`committed_db`, `committed_clinic`). Yields the worker's name."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    hostname = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test",
           "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_BROKER_KEY_PREFIX": prefix,
           "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_outbox.port), "EMAIL_USE_TLS": "false"}
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "clinic_loyalty", "worker", "--pool=solo",
               "--hostname", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--loglevel=INFO"]
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env,  # noqa: S603
                                  stdout=output, stderr=subprocess.STDOUT)

    def answers() -> bool:
        if worker.poll() is not None:
            pytest.fail(f"The Celery worker exited ({worker.returncode}):\n{log.read_text()}")
        return bool(celery_app.control.ping(destination=[hostname], timeout=0.5))

    try:
        until(answers, timeout=30)
        yield hostname
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in broker.scan_iter(match=f"{prefix}*"):
            broker.delete(key)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access outside the per-test transaction, starting in the public schema: every
    write commits at once, so a Celery worker sees it. Clean up, or write only in clinics from
    `committed_clinic`. Not together with `db`."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()


@pytest.fixture(scope="module")
def committed_clinic(django_db_setup, django_db_blocker) -> Iterator[Callable[..., Clinic]]:
    """Provision clinics for real and commit them (a Celery worker sees them); they are dropped,
    schema and all, after the module. Call it from module fixtures or from tests without `db`.
    An owner without a password is sent an invitation, as in the console."""
    made: list[Clinic] = []

    def make(slug: str, name: str, *, owner_password: str | None = TEST_PASSWORD, **kwargs) -> Clinic:
        with django_db_blocker.unblock():
            catalog_vacuum()
            if not connection.in_atomic_block:
                connection.close()  # a fresh backend: a long-lived one's caches make schema DDL slow
            connection.set_schema_to_public()
            clinic = clinic_create(slug=slug, name=name, actor="tests", **kwargs,
                                   owner=OwnerSpec(username="owner", email=f"owner@{slug}.test",
                                                   full_name=f"{name} owner", password=owner_password))
        made.append(clinic)
        return clinic

    yield make
    with django_db_blocker.unblock():
        if not connection.in_atomic_block:
            connection.close()
        connection.set_schema_to_public()
        for clinic in made:
            clinic.delete(force_drop=True)


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@dataclass(frozen=True)
class LiveServer:
    port: int

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_server_process(django_db_setup) -> Iterator[LiveServer]:
    """The whole app over real HTTP on 127.0.0.1, in threads of this process; any *.localhost
    host reaches it. Its requests use their own database connections, so what they must see has
    to be committed (`committed_clinic`). Use it through `live_site`."""
    server = ThreadedWSGIServer(("127.0.0.1", _free_port()), _QuietRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(port=server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def live_site(live_server_process, django_db_blocker) -> Iterator[LiveServer]:
    """The live server, with database access open to its threads for the test."""
    with django_db_blocker.unblock():
        yield live_server_process


@dataclass(frozen=True)
class BrowserClinic:
    clinic: Clinic
    front_desk: User
    password: str

    @property
    def host(self) -> str:
        return clinic_host(self.clinic)


@pytest.fixture(scope="module")
def browser_clinic(committed_clinic, django_db_blocker) -> BrowserClinic:
    """A committed clinic with a committed front-desk account, for browser tests."""
    clinic = committed_clinic("browserclinic", "悦美医疗美容")
    with django_db_blocker.unblock(), tenant_context(clinic):
        desk = staff_create(username="desk", email="desk@browserclinic.test", full_name="前台小李",
                            role=Role.FRONT_DESK, password=TEST_PASSWORD)
    return BrowserClinic(clinic=clinic, front_desk=desk, password=TEST_PASSWORD)
