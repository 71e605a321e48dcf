"""Who may open what: every staff page and API endpoint, for each role and for nobody."""

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_update

ROLES = ["owner", "manager", "front_desk", "practitioner"]
STAFF_MANAGERS = {"owner", "manager"}


@pytest.fixture
def target(make_staff) -> User:
    """A staff member the pages and endpoints act on."""
    return make_staff(Role.PRACTITIONER, full_name="目标员工")


@pytest.fixture(params=ROLES)
def role(request) -> str:
    return request.param


@pytest.fixture
def user(request, role) -> User:
    return request.getfixturevalue(role)


@pytest.fixture
def page_client(staff_client, user):
    return staff_client(user)


@pytest.fixture
def api_client(anon_client, user):
    anon_client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=user).key}"
    return anon_client


def expected(role: str, allowed: set[str], ok: int = 200) -> int:
    return ok if role in allowed else 403


# Pages


def test_home_page_is_open_to_every_role(page_client, user):
    response = page_client.get("/")

    assert response.status_code == 200
    assert user.full_name in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/staff/", "/accounts/staff/invite/"])
def test_staff_pages_are_for_owners_and_managers(page_client, role, path):
    response = page_client.get(path)

    assert response.status_code == expected(role, STAFF_MANAGERS)


def test_clinic_settings_pages_are_for_owners_and_managers(page_client, role):
    response = page_client.get("/settings/jobs/")

    assert response.status_code == expected(role, STAFF_MANAGERS)


def test_staff_detail_page_is_for_owners_and_managers(page_client, role, target):
    response = page_client.get(f"/accounts/staff/{target.pk}/")

    assert response.status_code == expected(role, STAFF_MANAGERS)
    assert ("目标员工" in response.content.decode()) == (role in STAFF_MANAGERS)


def test_staff_invite_post_is_for_owners_and_managers(page_client, role):
    response = page_client.post("/accounts/staff/invite/", {
        "full_name": "新人", "username": "newbie", "email": "newbie@clinic.test", "role": "front_desk"})

    assert response.status_code == expected(role, STAFF_MANAGERS, ok=302)
    assert User.objects.filter(username="newbie").exists() == (role in STAFF_MANAGERS)


def test_staff_detail_post_is_for_owners_and_managers(page_client, role, target):
    response = page_client.post(f"/accounts/staff/{target.pk}/", {"action": "deactivate"})

    assert response.status_code == expected(role, STAFF_MANAGERS, ok=302)
    target.refresh_from_db()
    assert target.is_active == (role not in STAFF_MANAGERS)


def test_the_staff_link_is_shown_only_to_those_who_may_follow_it(page_client, role):
    content = page_client.get("/").content.decode()

    assert ('href="/accounts/staff/"' in content) == (role in STAFF_MANAGERS)


@pytest.mark.parametrize("path", ["/", "/accounts/staff/", "/accounts/staff/invite/", "/accounts/staff/1/",
                                  "/settings/jobs/"])
def test_pages_send_anonymous_people_to_log_in(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_anonymous_post_to_a_staff_page_changes_nothing(anon_client, target):
    invite = anon_client.post("/accounts/staff/invite/", {
        "full_name": "新人", "username": "newbie", "email": "newbie@clinic.test", "role": "owner"})
    deactivate = anon_client.post(f"/accounts/staff/{target.pk}/", {"action": "deactivate"})

    assert invite.status_code == deactivate.status_code == 302
    assert not User.objects.filter(username="newbie").exists()
    target.refresh_from_db()
    assert target.is_active


# API


def test_me_is_open_to_every_role(api_client, user, role):
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 200
    assert (response.json()["username"], response.json()["role"]) == (user.username, role)


def test_staff_list_api_is_for_owners_and_managers(api_client, role, target):
    response = api_client.get("/api/v1/staff/")

    assert response.status_code == expected(role, STAFF_MANAGERS)
    if role in STAFF_MANAGERS:
        assert target.username in [member["username"] for member in response.json()]


def test_staff_create_api_is_for_owners_and_managers(api_client, role):
    response = api_client.post("/api/v1/staff/", {
        "full_name": "新人", "username": "newbie", "email": "newbie@clinic.test", "role": "front_desk"},
        content_type="application/json")

    assert response.status_code == expected(role, STAFF_MANAGERS, ok=201)
    assert User.objects.filter(username="newbie").exists() == (role in STAFF_MANAGERS)


def test_staff_detail_api_is_for_owners_and_managers(api_client, role, target):
    response = api_client.get(f"/api/v1/staff/{target.pk}/")

    assert response.status_code == expected(role, STAFF_MANAGERS)


def test_staff_update_api_is_for_owners_and_managers(api_client, role, target):
    response = api_client.patch(f"/api/v1/staff/{target.pk}/", {"role": "front_desk"},
                                content_type="application/json")

    assert response.status_code == expected(role, STAFF_MANAGERS)
    assert target.role == (Role.FRONT_DESK if role in STAFF_MANAGERS else Role.PRACTITIONER)


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/me/"), ("get", "/api/v1/staff/"), ("post", "/api/v1/staff/"),
    ("get", "/api/v1/staff/1/"), ("patch", "/api/v1/staff/1/")])
def test_api_answers_401_to_anonymous_callers(anon_client, method, path):
    response = getattr(anon_client, method)(path, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_session_login_works_for_the_api_too(staff_client, manager):
    response = staff_client(manager).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["username"] == manager.username


# Token authentication reads the token, its user and the user's permissions in one query.

def test_a_token_call_reads_token_user_and_permissions_in_one_query(anon_client, front_desk,
                                                                     django_assert_num_queries):
    anon_client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=front_desk).key}"

    # the clinic lookup (search path, domain, search path), one query for token and permissions,
    # and the answer's own: the staff member's role
    with django_assert_num_queries(5):
        response = anon_client.get("/api/v1/me/")

    assert response.status_code == 200


def test_a_role_change_applies_to_the_next_token_call(anon_client, owner, front_desk):
    anon_client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=front_desk).key}"
    assert anon_client.get("/api/v1/staff/").status_code == 403

    staff_update(user=front_desk, actor=owner, role=Role.MANAGER)

    assert anon_client.get("/api/v1/staff/").status_code == 200


def test_a_deactivated_staff_members_token_is_refused(anon_client, owner, front_desk):
    anon_client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=front_desk).key}"

    staff_update(user=front_desk, actor=owner, is_active=False)
    response = anon_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_an_unknown_token_is_refused_in_the_callers_language(anon_client):
    anon_client.defaults["HTTP_AUTHORIZATION"] = "Token not-a-real-token"

    response = anon_client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "认证令牌无效。"
