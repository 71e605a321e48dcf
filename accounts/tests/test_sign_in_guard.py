"""The sign-in guard beyond one address: a username guessed from many addresses (a growing delay,
the owners told, the usual address unaffected), the sign-in audit page, the lift command, and the
platform console's login."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone, translation
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import SignInAttempt, SignInLift
from accounts.roles import Role
from accounts.sign_in_guard import SignInRefused, sign_in_record
from accounts.tasks import sign_in_attempts_prune
from conftest import TEST_CLINIC_SLUG, TEST_PASSWORD, client_for, console_client

SLOWDOWN_AFTER = settings.LOGIN_ACCOUNT_SLOWDOWN_AFTER


def log_in(client, address: str, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_from_many_addresses(username: str, count: int) -> None:
    """Failures as recorded after attempts the guard let through (spread out in time, so no
    delay was in force), each from another address, all within the window."""
    factory = RequestFactory()
    for n in range(count):
        request = factory.post("/accounts/login/", REMOTE_ADDR=f"198.51.100.{n + 1}")
        sign_in_record(request=request, identifier=username, succeeded=False)


@pytest.fixture
def person(make_staff):
    return make_staff(Role.FRONT_DESK, username=f"desk-{uuid.uuid4().hex[:8]}")


def test_a_username_guessed_from_many_addresses_waits_a_moment_from_a_new_address(clinic, person):
    fail_from_many_addresses(person.username, SLOWDOWN_AFTER - 1)
    assert log_in(client_for(clinic), "203.0.113.1", person.username, "wrong").status_code == 200

    response = log_in(client_for(clinic), "203.0.113.2", person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) == 1
    assert "its owners have been told" in response.content.decode() or clinic.language != "en"


def test_the_delay_doubles_with_each_further_failure(clinic, person):
    fail_from_many_addresses(person.username, SLOWDOWN_AFTER + 3)

    response = log_in(client_for(clinic), "203.0.113.2", person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert 6 <= int(response["Retry-After"]) <= 8


def test_the_delay_is_capped(clinic, person):
    fail_from_many_addresses(person.username, SLOWDOWN_AFTER + 20)

    response = log_in(client_for(clinic), "203.0.113.3", person.username, TEST_PASSWORD)

    assert response.status_code == 429
    assert settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS - 2 <= int(response["Retry-After"]) \
        <= settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS


def test_a_guessed_username_still_signs_in_at_once_from_its_usual_address(clinic, person):
    assert log_in(client_for(clinic), "203.0.113.10", person.username, TEST_PASSWORD).status_code == 302
    fail_from_many_addresses(person.username, SLOWDOWN_AFTER + 20)

    response = log_in(client_for(clinic), "203.0.113.10", person.username, TEST_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user == person


def test_the_owners_are_emailed_once_when_a_username_is_guessed_from_many_addresses(
        clinic, person, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fail_from_many_addresses(person.username, SLOWDOWN_AFTER + 2)

    alerts = [message for message in mail.outbox if person.username in message.subject]
    assert len(alerts) == 1
    assert alerts[0].to == [owner.email]
    with translation.override(clinic.language):
        summary = translation.gettext(
            "There have been %(failures)s failed sign-ins for “%(identifier)s” in the last %(minutes)s "
            "minutes, from %(addresses)s different addresses.")
    assert summary % {"failures": SLOWDOWN_AFTER + 2, "identifier": person.username.casefold(),
                      "minutes": settings.LOGIN_FAILURE_WINDOW_SECONDS // 60,
                      "addresses": SLOWDOWN_AFTER + 2} in alerts[0].body
    assert "/accounts/sign-ins/" in alerts[0].body


def test_fewer_failures_tell_nobody(clinic, person, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fail_from_many_addresses(person.username, SLOWDOWN_AFTER - 1)

    assert not [message for message in mail.outbox if person.username in message.subject]
    assert log_in(client_for(clinic), "203.0.113.4", person.username, TEST_PASSWORD).status_code == 302


def test_a_manager_sees_a_lockout_and_lifts_it(clinic, person, manager, staff_client):
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(client_for(clinic), "203.0.113.20", person.username, "wrong")
    assert log_in(client_for(clinic), "203.0.113.20", person.username, TEST_PASSWORD).status_code == 429
    page = staff_client(manager)

    listing = page.get("/accounts/sign-ins/")
    lifted = page.post("/accounts/sign-ins/", {"identifier": person.username, "address": "203.0.113.20",
                                               "reason": "phoned the front desk"})

    assert listing.status_code == 200
    assert person.username in listing.content.decode()
    assert "203.0.113.20" in listing.content.decode()
    assert lifted.status_code == 302
    lift = SignInLift.objects.get()
    assert (lift.actor, lift.identifier, lift.address, lift.failures_cleared) == (
        manager.username, person.username, "203.0.113.20", settings.LOGIN_FAILURE_LIMIT)
    assert log_in(client_for(clinic), "203.0.113.20", person.username, TEST_PASSWORD).status_code == 302
    assert "phoned the front desk" in page.get("/accounts/sign-ins/").content.decode()


def test_lifting_nothing_is_refused_with_a_message(manager, staff_client):
    response = staff_client(manager).post("/accounts/sign-ins/", {"identifier": "", "address": ""})

    assert response.status_code == 400
    assert "Name a username, an address, or both." in response.content.decode() or \
        response.context["form"].non_field_errors()
    assert not SignInLift.objects.exists()


def test_a_bad_address_is_refused_on_its_field(manager, staff_client):
    response = staff_client(manager).post("/accounts/sign-ins/", {"address": "not-an-address"})

    assert response.status_code == 400
    assert response.context["form"].errors["address"]


def test_the_front_desk_may_not_see_the_sign_in_audit(front_desk, staff_client):
    assert staff_client(front_desk).get("/accounts/sign-ins/").status_code == 403


def test_the_command_lifts_an_address_slowdown(clinic, person, capsys):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        log_in(client_for(clinic), "203.0.113.30", f"nobody-{n}", "wrong")
    assert log_in(client_for(clinic), "203.0.113.30", person.username, TEST_PASSWORD).status_code == 429

    call_command("sign_in_lockout_lift", clinic=clinic.schema_name, address="203.0.113.30", reason="NAT")

    assert f"{settings.LOGIN_ADDRESS_FAILURE_LIMIT} failed sign-ins no longer count" in capsys.readouterr().out
    assert SignInLift.objects.get().actor == "manage.py"
    assert log_in(client_for(clinic), "203.0.113.30", person.username, TEST_PASSWORD).status_code == 302


def test_the_command_refuses_an_unknown_clinic_and_an_empty_lift(clinic):
    with pytest.raises(CommandError, match="No clinic"):
        call_command("sign_in_lockout_lift", clinic="nosuchclinic", username="x")
    with pytest.raises(CommandError, match="Name a username"):
        call_command("sign_in_lockout_lift", clinic=clinic.schema_name)


def test_the_console_login_is_guarded_per_address_in_the_public_schema(operator):
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT):
        response = console_client().post("/login/", {"username": "operator", "password": "wrong"},
                                         REMOTE_ADDR="203.0.113.40")
        assert response.status_code == 200

    locked = console_client().post("/login/", {"username": "operator", "password": TEST_PASSWORD},
                                   REMOTE_ADDR="203.0.113.40")
    elsewhere = console_client().post("/login/", {"username": "operator", "password": TEST_PASSWORD},
                                      REMOTE_ADDR="203.0.113.41")

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert elsewhere.status_code == 302
    with schema_context(get_public_schema_name()):
        assert SignInAttempt.objects.filter(identifier="operator", succeeded=False).count() == \
            settings.LOGIN_FAILURE_LIMIT
    with schema_context(TEST_CLINIC_SLUG):
        assert not SignInAttempt.objects.filter(identifier="operator").exists()


def test_the_refusal_says_how_long_to_wait(clinic):
    refusal = SignInRefused(reason=SignInRefused.ADDRESS, retry_after=125)

    assert refusal.message_with_wait.endswith("Please try again in 3 minutes.")
    assert SignInRefused(reason=SignInRefused.PAIR, retry_after=1).message_with_wait.endswith(
        "Please try again in 1 second.")


def test_pruning_drops_records_that_no_longer_count_and_keeps_the_rest(clinic, person):
    now = timezone.now()
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.60")
    for _n in range(3):
        sign_in_record(request=request, identifier=person.username, succeeded=False)
    sign_in_record(request=request, identifier=person.username, succeeded=True)
    old_failure_at = now - timedelta(days=settings.SIGN_IN_RECORD_DAYS, hours=1)
    old_success_at = now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS, hours=1)
    mine = SignInAttempt.objects.filter(identifier=person.username)
    oldest = list(mine.filter(succeeded=False).order_by("id").values_list("id", flat=True)[:2])
    mine.filter(id__in=oldest).update(created_at=old_failure_at)
    kept_success = mine.get(succeeded=True)
    SignInAttempt.objects.create(identifier=person.username, address="203.0.113.61", succeeded=True,
                                 created_at=old_success_at)
    SignInAttempt.objects.create(identifier=person.username, address="203.0.113.62", succeeded=True,
                                 created_at=old_failure_at)

    counts = sign_in_attempts_prune.apply().get()

    assert counts == {"deleted": 3}
    assert set(mine.values_list("succeeded", "address")) == {
        (False, "203.0.113.60"), (True, "203.0.113.60"), (True, "203.0.113.62")}
    assert mine.filter(pk=kept_success.pk).exists()
