"""Logging in with the form and with the token endpoint, and the sign-in guard behind both
(accounts/sign_in_guard.py). The failure records live in the clinic's schema and go with the
test's transaction; tests through the real server are in test_sign_in_live.py."""

import uuid

import pytest
from django.conf import settings
from django.utils import translation

from accounts.roles import Role
from accounts.sign_in_guard import SignInRefused
from conftest import TEST_PASSWORD, client_for

LIMIT = settings.LOGIN_FAILURE_LIMIT
ADDRESS_LIMIT = settings.LOGIN_ADDRESS_FAILURE_LIMIT
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def address() -> str:
    """An address no other test (or parallel run) fails logins from."""
    n = uuid.uuid4().int
    return f"10.{n % 250 + 1}.{n // 250 % 250 + 1}.{n // 62500 % 250 + 1}"


@pytest.fixture
def person(make_staff):
    return make_staff(Role.FRONT_DESK, username=f"desk-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def client(clinic):
    return client_for(clinic)


def log_in(client, address: str, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


def token_for(client, address: str, username: str, password: str):
    return client.post(TOKEN_URL, {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=address)


def locked_message(language: str, reason: str = SignInRefused.PAIR) -> str:
    with translation.override(language):
        return str(SignInRefused.MESSAGES[reason])


def test_the_right_password_logs_in_and_lands_on_home(client, address, person):
    response = log_in(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.wsgi_request.user == person
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, address, person):
    response = log_in(client, address, person.username, "not-the-password")

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()


def test_an_invited_person_without_a_password_cannot_log_in(client, address, make_staff):
    invited = make_staff(Role.FRONT_DESK, username=f"new-{uuid.uuid4().hex[:10]}", password=None)

    response = log_in(client, address, invited.username, "")

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_the_account_is_locked_at_that_address_after_the_failure_limit_even_with_the_right_password(
        client, address, person, clinic):
    for _attempt in range(LIMIT):
        assert log_in(client, address, person.username, "wrong").status_code == 200

    response = log_in(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert not response.wsgi_request.user.is_authenticated
    assert locked_message(clinic.language) in response.content.decode()


def test_one_failure_less_than_the_limit_still_lets_the_person_in(client, address, person):
    for _attempt in range(LIMIT - 1):
        log_in(client, address, person.username, "wrong")

    response = log_in(client, address, person.username, TEST_PASSWORD)

    assert response.wsgi_request.user == person


def test_the_lock_does_not_follow_the_account_to_another_address(client, address, person):
    for _attempt in range(LIMIT):
        log_in(client, address, person.username, "wrong")

    response = log_in(client, "192.0.2.77", person.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user == person


def test_an_address_failing_on_many_accounts_is_slowed_down_for_accounts_not_known_there(
        client, address, person, make_staff, clinic):
    for n in range(ADDRESS_LIMIT):
        log_in(client, address, f"nobody-{n}-{uuid.uuid4().hex[:6]}", "wrong")

    response = log_in(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert locked_message(clinic.language, SignInRefused.ADDRESS) in response.content.decode()
    assert log_in(client_for(clinic), "192.0.2.78", person.username, TEST_PASSWORD).status_code == 302


def test_a_person_who_signed_in_from_an_address_before_is_not_slowed_down_there(clinic, address, person):
    assert log_in(client_for(clinic), address, person.username, TEST_PASSWORD).status_code == 302
    for n in range(ADDRESS_LIMIT):
        log_in(client_for(clinic), address, f"nobody-{n}", "wrong")

    assert log_in(client_for(clinic), address, "somebody-else", TEST_PASSWORD).status_code == 429
    assert log_in(client_for(clinic), address, person.username, TEST_PASSWORD).status_code == 302


def test_the_lock_is_per_clinic(client, address, person, other_clinic):
    for _attempt in range(LIMIT):
        log_in(client_for(other_clinic), address, person.username, "wrong")

    response = log_in(client, address, person.username, TEST_PASSWORD)

    assert response.wsgi_request.user == person


def test_the_token_endpoint_gives_a_token_for_the_right_password(client, address, person):
    response = token_for(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.json()["username"] == person.username


def test_the_token_endpoint_refuses_a_wrong_password_with_401(client, address, person):
    response = token_for(client, address, person.username, "wrong")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "token" not in response.json()


def test_the_token_endpoint_is_locked_after_the_failure_limit(client, address, person, clinic):
    for _attempt in range(LIMIT):
        assert token_for(client, address, person.username, "wrong").status_code == 401

    response = token_for(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert response.json()["error"]["code"] == "throttled"
    assert "token" not in response.json()


def test_failures_on_the_form_lock_the_token_endpoint_too(client, address, person):
    for _attempt in range(LIMIT):
        log_in(client, address, person.username, "wrong")

    response = token_for(client, address, person.username, TEST_PASSWORD)

    assert response.status_code == 429


def test_a_success_clears_the_account_failures(clinic, address, person):
    for _attempt in range(LIMIT - 1):
        log_in(client_for(clinic), address, person.username, "wrong")
    log_in(client_for(clinic), address, person.username, TEST_PASSWORD)
    for _attempt in range(LIMIT - 1):
        log_in(client_for(clinic), address, person.username, "wrong")

    response = log_in(client_for(clinic), address, person.username, TEST_PASSWORD)

    assert response.wsgi_request.user == person
