"""The platform console on the public host: operators log in, list, create, suspend and
reactivate clinics; nobody else gets in."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context, schema_exists

from accounts.models import StaffEvent, User
from accounts.roles import Role
from clinics.models import Clinic, ClinicEvent
from clinics.platform.services import clinic_suspend
from conftest import TEST_PASSWORD, console_client

NEW_CLINIC = {"name": "新光诊所", "slug": "xinguang", "time_zone": "Asia/Shanghai", "language": "zh-hans",
              "currency": "CNY", "owner_name": "陈老板", "owner_username": "chen",
              "owner_email": "chen@xinguang.test"}


@pytest.fixture
def console(operator):
    return console_client(operator)


@pytest.fixture
def in_public(db):
    connection.set_schema_to_public()


def field_error_ids(response) -> set[str]:
    return set(re.findall(r'id="id_(\w+)-error"', response.content.decode()))


def test_operator_logs_in_with_the_form_and_sees_the_clinics(operator, clinic):
    client = console_client()

    login = client.post("/login/", {"username": "operator", "password": TEST_PASSWORD})
    listing = client.get("/")

    assert login.status_code == 302
    assert listing.status_code == 200
    assert clinic.name in listing.content.decode()


def test_operator_login_with_a_wrong_password_fails(operator):
    client = console_client()

    response = client.post("/login/", {"username": "operator", "password": "wrong-password"},
                           REMOTE_ADDR="10.9.0.1")

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_clinic_staff_cannot_log_in_to_the_console(owner):
    response = console_client().post("/login/", {"username": "owner", "password": TEST_PASSWORD},
                                     REMOTE_ADDR="10.9.0.2")

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("path", ["/", "/clinics/new/", "/clinics/1/", "/?status=active"])
def test_anonymous_is_sent_to_the_console_login(db, path):
    response = console_client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_public_user_who_is_not_an_operator_is_refused(db, clinic):
    with schema_context("public"):
        plain = User.objects.create_user(username="plain", password=TEST_PASSWORD, is_staff=False)
    client = console_client(plain)

    listing = client.get("/")
    create = client.post("/clinics/new/", NEW_CLINIC)

    assert listing.status_code == 403
    assert clinic.name not in listing.content.decode()
    assert create.status_code == 403
    assert not Clinic.objects.filter(schema_name="xinguang").exists()


def test_list_filters_by_status(console, clinic, other_clinic):
    with schema_context("public"):
        clinic_suspend(clinic=other_clinic, actor="tests", reason="Unpaid invoice")

    everything = console.get("/").content.decode()
    active = console.get("/?status=active").content.decode()
    suspended = console.get("/?status=suspended").content.decode()

    assert clinic.name in everything and other_clinic.name in everything
    assert clinic.name in active and other_clinic.name not in active
    assert other_clinic.name in suspended and clinic.name not in suspended


def test_operator_creates_a_clinic_with_the_form(console, in_public):
    response = console.post("/clinics/new/", NEW_CLINIC)

    clinic = Clinic.objects.get(schema_name="xinguang")
    assert response.status_code == 302
    assert response["Location"] == f"/clinics/{clinic.pk}/"
    assert (clinic.name, clinic.status) == ("新光诊所", Clinic.Status.ACTIVE)
    assert clinic.domains.get().domain == f"xinguang.{settings.BASE_DOMAIN}"
    assert schema_exists("xinguang")
    assert ClinicEvent.objects.get(clinic=clinic).actor == "operator"
    with schema_context("xinguang"):
        owner = User.objects.get(username="chen")
        assert owner.role == Role.OWNER
        assert not owner.has_usable_password()
        assert owner.events.get().kind == StaffEvent.Kind.INVITED
    detail = console.get(response["Location"])
    assert "xinguang.localhost" in detail.content.decode()


def test_the_new_owner_is_invited_on_the_new_clinic_host(console, in_public,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        console.post("/clinics/new/", NEW_CLINIC)

    assert [m.to for m in mail.outbox] == [["chen@xinguang.test"]]
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert len(links) == 1
    assert links[0].startswith(f"http://xinguang.{settings.BASE_DOMAIN}/accounts/reset/")
    assert "新光诊所" in mail.outbox[0].subject


@pytest.mark.parametrize("slug", ["Bad Slug", "ab", "9lives", "under_score"])
def test_a_malformed_slug_is_shown_next_to_the_field(console, in_public, slug):
    response = console.post("/clinics/new/", {**NEW_CLINIC, "slug": slug})

    assert response.status_code == 400
    assert field_error_ids(response) == {"slug"}
    with translation.override("zh-hans"):
        expected = translation.gettext("Use 3 to 40 lower-case letters and digits, starting with a letter.")
    assert expected in response.content.decode()
    assert not Clinic.objects.filter(name=NEW_CLINIC["name"]).exists()


@pytest.mark.parametrize("slug", ["www", "admin", "api", "public", "pgadmin"])
def test_a_reserved_slug_is_refused_with_a_clear_error(console, in_public, slug):
    response = console.post("/clinics/new/", {**NEW_CLINIC, "slug": slug})

    assert response.status_code == 400
    assert field_error_ids(response) == {"slug"}
    assert response.context["form"].errors["slug"][0].count(slug) == 1
    assert not Clinic.objects.filter(name=NEW_CLINIC["name"]).exists()


def test_a_taken_slug_is_shown_next_to_the_field(console, in_public):
    response = console.post("/clinics/new/", {**NEW_CLINIC, "slug": "testclinic"})

    assert response.status_code == 400
    assert field_error_ids(response) == {"slug"}
    assert Clinic.objects.filter(schema_name="testclinic").count() == 1


def test_an_invalid_owner_username_is_shown_next_to_its_field(console, in_public):
    response = console.post("/clinics/new/", {**NEW_CLINIC, "owner_username": "has space!"})

    assert response.status_code == 400
    assert field_error_ids(response) == {"owner_username"}
    assert not Clinic.objects.filter(schema_name="xinguang").exists()
    assert not schema_exists("xinguang")


def test_suspending_needs_a_reason(console, other_clinic):
    response = console.post(f"/clinics/{other_clinic.pk}/", {"action": "suspend", "reason": "  "})

    assert response.status_code == 400
    assert field_error_ids(response) == {"reason"}
    other_clinic.refresh_from_db()
    assert other_clinic.status == Clinic.Status.ACTIVE
    assert not other_clinic.events.filter(kind=ClinicEvent.Kind.SUSPENDED).exists()


def test_operator_suspends_then_reactivates_a_clinic(console, other_clinic):
    url = f"/clinics/{other_clinic.pk}/"

    suspended = console.post(url, {"action": "suspend", "reason": "Unpaid invoice"})
    other_clinic.refresh_from_db()
    status_after_suspend, reason_after_suspend = other_clinic.status, other_clinic.status_reason

    reactivated = console.post(url, {"action": "reactivate"})
    other_clinic.refresh_from_db()

    assert suspended.status_code == reactivated.status_code == 302
    assert (status_after_suspend, reason_after_suspend) == (Clinic.Status.SUSPENDED, "Unpaid invoice")
    assert (other_clinic.status, other_clinic.status_reason) == (Clinic.Status.ACTIVE, "")
    history = [(e.kind, e.actor, e.reason) for e in other_clinic.events.order_by("id")]
    assert history == [(ClinicEvent.Kind.CREATED, "tests", ""),
                       (ClinicEvent.Kind.SUSPENDED, "operator", "Unpaid invoice"),
                       (ClinicEvent.Kind.REACTIVATED, "operator", "")]


def test_reactivating_an_active_clinic_is_a_clear_400(console, other_clinic):
    response = console.post(f"/clinics/{other_clinic.pk}/", {"action": "reactivate"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert other_clinic.events.count() == 1


def test_the_public_schema_row_is_not_a_clinic_in_the_console(console, in_public):
    public = Clinic.objects.get(schema_name="public")

    assert console.get(f"/clinics/{public.pk}/").status_code == 404
    assert console.post(f"/clinics/{public.pk}/", {"action": "suspend", "reason": "x"}).status_code == 404
    public.refresh_from_db()
    assert public.status == Clinic.Status.ACTIVE
