"""A suspended clinic answers every page and API call with a clear 403 and does nothing else;
reactivated, it works again."""

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.html import escape
from django_tenants.utils import schema_context
from rest_framework.authtoken.models import Token

from accounts.models import User
from clinics.models import Clinic
from clinics.platform.services import clinic_reactivate, clinic_suspend
from conftest import TEST_PASSWORD, client_for

SUSPENDED_MESSAGE = "This clinic's account is suspended. Please contact the clinic or Clinic Loyalty support."


def suspend(clinic: Clinic) -> None:
    with schema_context("public"):
        clinic_suspend(clinic=clinic, actor="tests", reason="Unpaid invoice")


def reactivate(clinic: Clinic) -> None:
    with schema_context("public"):
        clinic_reactivate(clinic=clinic, actor="tests")


def suspended_message(language: str) -> str:
    with translation.override(language):
        return translation.gettext(SUSPENDED_MESSAGE)


@pytest.fixture
def owner_client(clinic, owner):
    return client_for(clinic, owner)


@pytest.fixture
def owner_token(owner) -> str:
    return Token.objects.create(user=owner).key


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/staff/", "/accounts/staff/invite/",
                                  "/accounts/password-reset/", "/nope/"])
def test_suspended_clinic_pages_are_a_403_with_the_suspended_message(clinic, owner_client, path):
    suspend(clinic)

    response = owner_client.get(path)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert escape(suspended_message(clinic.language)) in content
    assert clinic.name in content


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/staff/", "/api/v1/nope/", "/api/schema/",
                                  "/api/docs/"])
def test_suspended_clinic_api_is_a_403_clinic_suspended_error(clinic, owner_token, path):
    suspend(clinic)
    client = client_for(clinic)

    response = client.get(path, HTTP_AUTHORIZATION=f"Token {owner_token}")

    assert response.status_code == 403
    assert response.json() == {"error": {"code": "clinic_suspended",
                                         "message": suspended_message(clinic.language), "fields": {}}}


def test_suspended_message_follows_the_api_client_language(clinic, owner_token):
    suspend(clinic)

    response = client_for(clinic).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {owner_token}",
                                      HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["error"]["message"] == SUSPENDED_MESSAGE
    assert response["Content-Language"] == "en"


def test_suspended_clinic_creates_no_staff_through_the_page_or_the_api(clinic, owner_client, owner_token):
    suspend(clinic)
    staff_before = User.objects.count()

    page = owner_client.post("/accounts/staff/invite/", {
        "full_name": "新人", "username": "newbie", "email": "newbie@clinic.test", "role": "front_desk"})
    api = client_for(clinic).post("/api/v1/staff/", {
        "full_name": "新人", "username": "newbie2", "email": "newbie2@clinic.test", "role": "front_desk"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Token {owner_token}")

    assert (page.status_code, api.status_code) == (403, 403)
    with schema_context(clinic.schema_name):
        assert User.objects.count() == staff_before
        assert not User.objects.filter(username__in=["newbie", "newbie2"]).exists()


def test_suspended_clinic_logs_nobody_in(clinic, owner):
    suspend(clinic)
    client = client_for(clinic)

    page = client.post("/accounts/login/", {"username": "owner", "password": TEST_PASSWORD})
    api = client.post("/api/v1/auth/token/", {"username": "owner", "password": TEST_PASSWORD},
                      content_type="application/json")

    assert (page.status_code, api.status_code) == (403, 403)
    assert settings.SESSION_COOKIE_NAME not in page.cookies
    with schema_context(clinic.schema_name):
        assert not Token.objects.filter(user=owner).exists()


def test_health_still_answers_for_a_suspended_clinic(clinic):
    suspend(clinic)

    response = client_for(clinic).get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


def test_suspending_one_clinic_leaves_the_other_working(clinic, other_clinic):
    suspend(other_clinic)

    assert client_for(clinic).get("/accounts/login/").status_code == 200
    assert client_for(other_clinic).get("/accounts/login/").status_code == 403


def test_a_reactivated_clinic_works_again(clinic, owner_client, owner_token):
    suspend(clinic)
    assert owner_client.get("/").status_code == 403

    reactivate(clinic)

    assert owner_client.get("/").status_code == 200
    me = client_for(clinic).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {owner_token}")
    assert me.status_code == 200
    assert me.json()["username"] == "owner"
