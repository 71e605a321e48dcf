"""Sign-in protection through the real server stack: HTTP requests to the live server from
different client addresses. Linux lets a client socket bind to any 127.x.y.z address, so each
"address" here is a real connection from that address, as REMOTE_ADDR shows it to the app."""

import http.client
import json
import random
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import tenant_context

from accounts.models import SignInAttempt
from accounts.roles import Role
from accounts.services import staff_create
from clinics.context import clinic_host
from conftest import TEST_PASSWORD, _free_port

TOKEN_PATH = "/api/v1/auth/token/"
LOGIN_PATH = "/accounts/login/"
ADDRESS_LIMIT = settings.LOGIN_ADDRESS_FAILURE_LIMIT
LIMIT = settings.LOGIN_FAILURE_LIMIT


def loopback() -> str:
    """A loopback address of its own for one simulated client (never 127.0.0.1, the server's)."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> dict:
        return json.loads(self.body)


def request(live, host: str, method: str, path: str, *, source: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers={"Host": f"{host}:{live.port}", **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read().decode())
    finally:
        connection.close()


def token(live, host: str, username: str, password: str, *, source: str, forwarded_for: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    body = json.dumps({"username": username, "password": password}).encode()
    return request(live, host, "POST", TOKEN_PATH, source=source, body=body, headers=headers)


def form_log_in(live, host: str, username: str, password: str, *, source: str, path: str = LOGIN_PATH) -> Answer:
    """As a browser does: get the form (and its CSRF cookie), then post it."""
    page = request(live, host, "GET", path, source=source)
    cookie = re.search(r"csrftoken=([^;]+)", page.headers["set-cookie"]).group(1)
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": field}).encode()
    return request(live, host, "POST", path, source=source, body=body,
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}",
                            "Referer": f"http://{host}:{live.port}{path}"})


@pytest.fixture(scope="module")
def live_clinic(committed_clinic):
    return committed_clinic("signinlive", "登录诊所")


@pytest.fixture
def host(live_clinic) -> str:
    return clinic_host(live_clinic)


@pytest.fixture
def staff(live_clinic, django_db_blocker):
    """A committed staff account with a name of its own (failures outlast a test here)."""

    def make(role: Role = Role.MANAGER):
        name = f"{role.value}-{uuid.uuid4().hex[:8]}"
        with django_db_blocker.unblock(), tenant_context(live_clinic):
            return staff_create(username=name, email=f"{name}@signinlive.test", full_name=name,
                                role=role, password=TEST_PASSWORD)

    return make


def recorded_addresses(clinic, django_db_blocker, username: str) -> set[str]:
    with django_db_blocker.unblock(), tenant_context(clinic):
        return set(SignInAttempt.objects.filter(identifier=username.casefold()).values_list("address", flat=True))


def test_made_up_usernames_from_one_address_slow_only_that_address(live_site, host, staff):
    manager = staff()
    address_a, address_b = loopback(), loopback()

    answers = [token(live_site, host, f"nobody-{n}-{uuid.uuid4().hex[:6]}", "guess", source=address_a)
               for n in range(25)]

    assert [answer.status for answer in answers] == [401] * ADDRESS_LIMIT + [429] * (25 - ADDRESS_LIMIT)
    from_b = token(live_site, host, manager.username, TEST_PASSWORD, source=address_b)
    assert from_b.status == 200
    assert from_b.json()["token"]
    from_a = token(live_site, host, manager.username, TEST_PASSWORD, source=address_a)
    assert from_a.status == 429
    assert 0 < int(from_a.headers["retry-after"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert from_a.json()["error"]["code"] == "throttled"
    assert "token" not in from_a.json()


def test_the_staff_login_form_slows_the_guessing_address_and_lets_others_in(live_site, host, staff):
    desk = staff(Role.FRONT_DESK)
    address_a, address_b = loopback(), loopback()
    for n in range(ADDRESS_LIMIT):
        assert form_log_in(live_site, host, f"nobody-{n}", "guess", source=address_a).status == 200

    from_a = form_log_in(live_site, host, desk.username, TEST_PASSWORD, source=address_a)
    from_b = form_log_in(live_site, host, desk.username, TEST_PASSWORD, source=address_b)

    assert from_a.status == 429
    assert int(from_a.headers["retry-after"]) > 0
    assert 'role="alert"' in from_a.body
    assert from_b.status == 302
    assert from_b.headers["location"] == "/"


def test_five_wrong_passwords_from_one_address_do_not_stop_the_account_elsewhere(live_site, host, staff):
    manager = staff()
    address_a, address_b = loopback(), loopback()

    assert [token(live_site, host, manager.username, "wrong", source=address_a).status
            for _n in range(LIMIT)] == [401] * LIMIT

    assert token(live_site, host, manager.username, TEST_PASSWORD, source=address_b).status == 200
    locked = token(live_site, host, manager.username, TEST_PASSWORD, source=address_a)
    assert locked.status == 429
    assert int(locked.headers["retry-after"]) > 0


def test_a_forged_forwarded_for_from_an_untrusted_client_changes_nothing(
        live_site, host, staff, live_clinic, django_db_blocker, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    manager = staff()
    client = loopback()

    answers = [token(live_site, host, manager.username, "wrong", source=client,
                     forwarded_for=f"203.0.113.{n + 1}, 127.0.0.1") for n in range(LIMIT)]
    forged_again = token(live_site, host, manager.username, TEST_PASSWORD, source=client,
                         forwarded_for="198.51.100.7")

    assert [answer.status for answer in answers] == [401] * LIMIT
    assert forged_again.status == 429
    assert recorded_addresses(live_clinic, django_db_blocker, manager.username) == {client}


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
        live_site, host, staff, live_clinic, django_db_blocker, settings):
    proxy, client_a, client_b = loopback(), loopback(), loopback()
    settings.TRUSTED_PROXIES = [f"{proxy}/32"]
    manager = staff()

    answers = [token(live_site, host, manager.username, "wrong", source=proxy,
                     forwarded_for=f"198.51.100.{n + 1}, {client_a}") for n in range(LIMIT)]
    from_a = token(live_site, host, manager.username, TEST_PASSWORD, source=proxy, forwarded_for=client_a)
    from_b = token(live_site, host, manager.username, TEST_PASSWORD, source=proxy, forwarded_for=client_b)

    assert [answer.status for answer in answers] == [401] * LIMIT
    assert from_a.status == 429
    assert from_b.status == 200
    assert recorded_addresses(live_clinic, django_db_blocker, manager.username) == {client_a, client_b}


def test_with_redis_unreachable_sign_in_still_answers(live_site, host, staff, settings):
    nothing_listens = f"redis://127.0.0.1:{_free_port()}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": nothing_listens}}
    with pytest.raises(Exception, match=r"(?i)connect"):
        cache.get("anything")
    desk = staff(Role.FRONT_DESK)
    address = loopback()

    right = token(live_site, host, desk.username, TEST_PASSWORD, source=address)
    wrong = token(live_site, host, desk.username, "wrong", source=address)
    form = form_log_in(live_site, host, desk.username, TEST_PASSWORD, source=address)

    assert right.status == 200
    assert right.json()["token"]
    assert wrong.status == 401
    assert wrong.json()["error"]["code"] == "authentication_failed"
    assert form.status == 302
