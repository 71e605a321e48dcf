"""Two clinics side by side: staff of one can neither read nor change anything of the other,
whatever route they try (pages, sessions, tokens, ids, hosts, cache). Clinic A is the session's
test clinic, clinic B a second clinic provisioned for real."""

import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from rest_framework.authtoken.models import Token

from accounts.models import User
from clinics.context import clinic_host
from clinics.middleware import SESSION_CLINIC_KEY
from conftest import TEST_PASSWORD, client_for


@pytest.fixture
def clinic_a(clinic):
    return clinic


@pytest.fixture(scope="module")
def committed_b(committed_clinic):
    return committed_clinic("isolationb", "别家诊所")


@pytest.fixture
def clinic_b(db, committed_b):
    """Clinic B is committed once for the module; what a test writes in it is rolled back."""
    return committed_b


@pytest.fixture
def a_manager(manager):
    """A manager who exists only in clinic A."""
    return manager


@pytest.fixture
def b_owner(clinic_b) -> User:
    with tenant_context(clinic_b):
        return User.objects.get(username="owner")


def host_of(clinic) -> dict:
    return {"HTTP_HOST": clinic_host(clinic)}


def is_logged_in(response) -> bool:
    return bool(response.wsgi_request.user.is_authenticated)


# Pages


def test_a_staff_password_does_not_open_clinic_b(clinic_b, a_manager):
    b_client = client_for(clinic_b)

    response = b_client.post("/accounts/login/", {"username": a_manager.username,
                                                   "password": TEST_PASSWORD})

    assert response.status_code == 200
    assert not is_logged_in(response)
    assert response.context["form"].errors


def test_a_session_sent_to_b_host_is_not_logged_in_there(clinic_a, clinic_b, a_manager):
    a_client = client_for(clinic_a, a_manager)
    assert a_client.get("/").status_code == 200

    response = a_client.get("/", **host_of(clinic_b))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not is_logged_in(response)


def test_a_session_cookie_copied_to_b_host_is_not_logged_in_there(clinic_a, clinic_b, a_manager):
    a_client = client_for(clinic_a, a_manager)
    b_client = client_for(clinic_b)
    b_client.cookies[settings.SESSION_COOKIE_NAME] = a_client.cookies[settings.SESSION_COOKIE_NAME].value

    home = b_client.get("/")
    staff_page = b_client.get("/accounts/staff/")
    me = b_client.get("/api/v1/me/")

    assert home.status_code == 302 and not is_logged_in(home)
    assert staff_page.status_code == 302
    assert me.status_code in (401, 403)
    assert a_manager.username not in me.content.decode()


def test_a_session_bound_to_a_is_refused_even_if_it_exists_in_b(clinic_a, clinic_b, b_owner):
    with tenant_context(clinic_b):
        session = SessionStore()
        session["_auth_user_id"] = str(b_owner.pk)
        session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
        session["_auth_user_hash"] = b_owner.get_session_auth_hash()
        session[SESSION_CLINIC_KEY] = clinic_a.schema_name
        session.save()
    b_client = client_for(clinic_b)
    b_client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    response = b_client.get("/")

    assert response.status_code == 302
    assert not is_logged_in(response)


def test_b_staff_list_never_shows_a_staff(clinic_b, a_manager, b_owner):
    response = client_for(clinic_b, b_owner).get("/accounts/staff/")

    assert response.status_code == 200
    content = response.content.decode()
    assert b_owner.email in content
    assert a_manager.username not in content
    assert a_manager.email not in content
    assert "owner@testclinic.test" not in content


# API


def test_a_token_on_b_host_is_401(clinic_b, a_manager):
    token = Token.objects.create(user=a_manager)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", **host_of(clinic_b))

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_token_works_on_its_own_host(clinic_a, a_manager):
    token = Token.objects.create(user=a_manager)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", **host_of(clinic_a))

    assert client.get("/api/v1/me/").json()["username"] == a_manager.username


def test_a_session_on_b_api_is_refused(clinic_a, clinic_b, a_manager):
    a_client = client_for(clinic_a, a_manager)

    response = a_client.get("/api/v1/staff/", **host_of(clinic_b))

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("not_authenticated", "permission_denied")


def test_a_user_id_on_b_api_gives_b_record_or_404_never_a_data(clinic_a, clinic_b, a_manager, b_owner):
    a_owner = User.objects.get(username="owner")
    with tenant_context(clinic_b):
        assert User.objects.filter(pk=a_owner.pk).exists(), "the id must exist in both clinics"
        assert not User.objects.filter(pk=a_manager.pk).exists()
    b_client = client_for(clinic_b, b_owner)

    shared_id = b_client.get(f"/api/v1/staff/{a_owner.pk}/")
    a_only_id = b_client.get(f"/api/v1/staff/{a_manager.pk}/")

    assert shared_id.status_code == 200
    assert shared_id.json()["email"] == "owner@isolationb.test"
    assert a_owner.email not in shared_id.content.decode()
    assert a_only_id.status_code == 404
    assert a_manager.username not in a_only_id.content.decode()


def test_a_manager_cannot_patch_b_staff(clinic_a, clinic_b, a_manager, b_owner):
    token = Token.objects.create(user=a_manager)
    by_token = Client(HTTP_AUTHORIZATION=f"Token {token.key}", **host_of(clinic_b))
    by_session = client_for(clinic_b)
    by_session.cookies[settings.SESSION_COOKIE_NAME] = (
        client_for(clinic_a, a_manager).cookies[settings.SESSION_COOKIE_NAME].value)

    responses = [client.patch(f"/api/v1/staff/{b_owner.pk}/", {"is_active": False, "role": "front_desk"},
                              content_type="application/json") for client in (by_token, by_session)]

    assert [r.status_code for r in responses] == [401, 401]
    with tenant_context(clinic_b):
        b_owner.refresh_from_db()
        assert b_owner.is_active
        assert b_owner.role.value == "owner"


# Hosts


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/me/", "/accounts/staff/"])
def test_unknown_host_is_a_404_clinic_not_found_page(clinic_a, path):
    response = Client(HTTP_HOST=f"nope.{settings.BASE_DOMAIN}", HTTP_ACCEPT_LANGUAGE="en").get(path)

    assert response.status_code == 404
    content = response.content.decode()
    assert "Clinic not found" in content
    assert clinic_a.name not in content
    assert "owner" not in content


def test_unknown_host_page_follows_the_browser_language_not_the_previous_request(clinic_a):
    client_for(clinic_a).get("/accounts/login/")

    response = Client(HTTP_HOST=f"nope.{settings.BASE_DOMAIN}", HTTP_ACCEPT_LANGUAGE="en").get("/")

    assert '<html lang="en">' in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/staff/", "/accounts/password-reset/",
                                  "/api/v1/me/", "/api/v1/staff/", "/api/docs/"])
def test_public_host_never_serves_clinic_pages(clinic_a, path):
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get(path)

    assert response.status_code == 404
    assert clinic_a.name not in response.content.decode()


def test_public_host_root_is_the_console_not_a_clinic(db):
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# Cache


def test_cache_keys_are_per_clinic(clinic_a, clinic_b):
    key = f"isolation-{uuid.uuid4().hex}"
    try:
        with tenant_context(clinic_a):
            cache.set(key, "secret of A", timeout=60)
        with tenant_context(clinic_b):
            seen_in_b = cache.get(key)
        with schema_context("public"):
            seen_in_public = cache.get(key)
        with tenant_context(clinic_a):
            seen_in_a = cache.get(key)
    finally:
        with tenant_context(clinic_a):
            cache.delete(key)

    assert seen_in_a == "secret of A"
    assert seen_in_b is None
    assert seen_in_public is None
