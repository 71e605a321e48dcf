"""Owners and managers invite staff, change roles, deactivate and reactivate accounts; every
change is in the person's history with who made it."""

import re

import pytest
from django.conf import settings
from django.core import mail
from rest_framework.authtoken.models import Token

from accounts.models import StaffEvent, User
from accounts.roles import Role
from conftest import TEST_PASSWORD, client_for

NEW_PERSON = {"full_name": "刘新人", "username": "liu", "email": "Liu@Clinic.test", "phone": "13800000000"}


def history(user: User) -> list[tuple[str, str | None, str]]:
    return [(event.kind, event.actor.username if event.actor else None, event.detail)
            for event in user.events.order_by("id")]


def field_error_ids(response) -> set[str]:
    return set(re.findall(r'id="id_(\w+)-error"', response.content.decode()))


def api(clinic, user: User):
    client = client_for(clinic)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return client


@pytest.fixture
def second_owner(make_staff) -> User:
    return make_staff(Role.OWNER)


# Inviting


def test_owner_invites_staff_with_the_page(staff_client, owner):
    response = staff_client(owner).post("/accounts/staff/invite/", {**NEW_PERSON, "role": "front_desk"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/staff/"
    person = User.objects.get(username="liu")
    assert (person.email, person.full_name, person.role) == ("liu@clinic.test", "刘新人", Role.FRONT_DESK)
    assert not person.has_usable_password()
    assert history(person) == [(StaffEvent.Kind.INVITED, "owner", "front_desk")]


def test_manager_invites_staff_with_the_api(clinic, manager):
    response = api(clinic, manager).post("/api/v1/staff/", {**NEW_PERSON, "role": "practitioner"},
                                         content_type="application/json")

    assert response.status_code == 201
    assert response.json()["role"] == "practitioner"
    assert history(User.objects.get(username="liu")) == [
        (StaffEvent.Kind.INVITED, manager.username, "practitioner")]


def test_the_invitation_email_links_to_the_clinic_host_and_lets_the_person_in(
        clinic, staff_client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_client(owner).post("/accounts/staff/invite/", {**NEW_PERSON, "role": "front_desk"})

    assert [m.to for m in mail.outbox] == [["liu@clinic.test"]]
    body = mail.outbox[0].body
    assert "liu" in body
    link = re.search(r"https?://\S+", body).group()
    assert link.startswith(f"http://{clinic.schema_name}.{settings.BASE_DOMAIN}/accounts/reset/")

    person = client_for(clinic)
    form_page = person.get(link.split(settings.BASE_DOMAIN, 1)[1], follow=True)
    saved = person.post(form_page.redirect_chain[-1][0],
                        {"new_password1": "Fresh-start-77", "new_password2": "Fresh-start-77"})
    login = client_for(clinic).post("/accounts/login/", {"username": "liu", "password": "Fresh-start-77"})

    assert form_page.context["validlink"] is True
    assert saved.status_code == 302
    assert login.status_code == 302
    assert login.wsgi_request.user.username == "liu"


def test_a_duplicate_username_is_shown_next_to_the_field(staff_client, owner, front_desk):
    response = staff_client(owner).post("/accounts/staff/invite/", {
        **NEW_PERSON, "username": front_desk.username, "role": "front_desk"})

    assert response.status_code == 400
    assert field_error_ids(response) == {"username"}
    assert not User.objects.filter(email="liu@clinic.test").exists()


def test_a_duplicate_email_in_any_case_is_refused(clinic, owner, front_desk):
    response = api(clinic, owner).post("/api/v1/staff/", {
        **NEW_PERSON, "email": front_desk.email.upper(), "role": "front_desk"},
        content_type="application/json")

    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]
    assert not User.objects.filter(username="liu").exists()


def test_manager_cannot_invite_an_owner(clinic, staff_client, manager):
    page = staff_client(manager).post("/accounts/staff/invite/", {**NEW_PERSON, "role": "owner"})
    by_api = api(clinic, manager).post("/api/v1/staff/", {**NEW_PERSON, "role": "owner"},
                                       content_type="application/json")

    assert page.status_code == 403
    assert field_error_ids(page) == {"role"}
    assert by_api.status_code == 403
    assert by_api.json()["error"]["code"] == "permission_denied"
    assert not User.objects.filter(username="liu").exists()


# Roles


def test_owner_changes_a_role_with_the_page(staff_client, owner, front_desk):
    response = staff_client(owner).post(f"/accounts/staff/{front_desk.pk}/",
                                        {"action": "role", "role": "manager"})

    assert response.status_code == 302
    assert front_desk.role == Role.MANAGER
    assert history(front_desk)[-1] == (StaffEvent.Kind.ROLE_CHANGED, "owner", "front_desk → manager")


def test_manager_changes_a_role_with_the_api(clinic, manager, practitioner):
    response = api(clinic, manager).patch(f"/api/v1/staff/{practitioner.pk}/", {"role": "front_desk"},
                                          content_type="application/json")

    assert response.status_code == 200
    assert response.json()["role"] == "front_desk"
    assert history(practitioner)[-1] == (StaffEvent.Kind.ROLE_CHANGED, manager.username,
                                         "practitioner → front_desk")


def test_manager_cannot_grant_owner(clinic, staff_client, manager, front_desk):
    page = staff_client(manager).post(f"/accounts/staff/{front_desk.pk}/",
                                      {"action": "role", "role": "owner"})
    by_api = api(clinic, manager).patch(f"/api/v1/staff/{front_desk.pk}/", {"role": "owner"},
                                        content_type="application/json")

    assert (page.status_code, by_api.status_code) == (403, 403)
    assert page.context["errors"] == ["您无权授予“负责人”角色。"], "in the clinic's language"
    assert 'role="alert"' in page.content.decode()
    assert front_desk.role == Role.FRONT_DESK
    assert [kind for kind, _actor, _detail in history(front_desk)] == [StaffEvent.Kind.INVITED]


def test_manager_cannot_change_or_deactivate_an_owner(clinic, manager, owner):
    client = api(clinic, manager)

    demote = client.patch(f"/api/v1/staff/{owner.pk}/", {"role": "manager"}, content_type="application/json")
    deactivate = client.patch(f"/api/v1/staff/{owner.pk}/", {"is_active": False},
                              content_type="application/json")

    assert (demote.status_code, deactivate.status_code) == (403, 403)
    owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)


def test_the_last_owner_cannot_be_demoted(clinic, owner):
    response = api(clinic, owner).patch(f"/api/v1/staff/{owner.pk}/", {"role": "manager"},
                                        content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert owner.role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(clinic, owner, second_owner):
    response = api(clinic, owner).patch(f"/api/v1/staff/{owner.pk}/", {"role": "manager"},
                                        content_type="application/json")

    assert response.status_code == 200
    assert owner.role == Role.MANAGER


def test_the_last_owner_cannot_be_deactivated(clinic, staff_client, owner, second_owner):
    api(clinic, second_owner).patch(f"/api/v1/staff/{owner.pk}/", {"is_active": False},
                                    content_type="application/json")

    response = staff_client(second_owner).post(f"/accounts/staff/{second_owner.pk}/",
                                               {"action": "deactivate"})

    assert response.status_code == 400
    assert response.context["errors"]
    second_owner.refresh_from_db()
    assert second_owner.is_active
    assert User.objects.filter(is_active=True, groups__name="owner").count() == 1


def test_a_refused_update_changes_nothing_it_was_asked_for(clinic, owner, second_owner):
    response = api(clinic, second_owner).patch(f"/api/v1/staff/{second_owner.pk}/",
                                               {"role": "manager", "is_active": False},
                                               content_type="application/json")

    assert response.status_code == 400
    second_owner.refresh_from_db()
    assert (second_owner.role, second_owner.is_active) == (Role.OWNER, True)
    assert [kind for kind, _actor, _detail in history(second_owner)] == [StaffEvent.Kind.INVITED]


# Deactivating


def test_a_deactivated_person_can_no_longer_log_in_nor_use_a_token_or_session(
        clinic, staff_client, manager, front_desk):
    token = Token.objects.create(user=front_desk).key
    session = staff_client(front_desk)
    assert session.get("/").status_code == 200

    response = staff_client(manager).post(f"/accounts/staff/{front_desk.pk}/", {"action": "deactivate"})

    assert response.status_code == 302
    assert session.get("/").status_code == 302
    by_token = client_for(clinic).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert by_token.status_code == 401
    login = client_for(clinic).post("/accounts/login/", {"username": front_desk.username,
                                                          "password": TEST_PASSWORD},
                                    REMOTE_ADDR="10.20.0.1")
    assert not login.wsgi_request.user.is_authenticated
    new_token = client_for(clinic).post("/api/v1/auth/token/", {"username": front_desk.username,
                                                                 "password": TEST_PASSWORD},
                                        content_type="application/json", REMOTE_ADDR="10.20.0.1")
    assert new_token.status_code == 401
    assert history(front_desk)[-1] == (StaffEvent.Kind.DEACTIVATED, manager.username, "")


def test_a_reactivated_person_can_log_in_again(clinic, staff_client, owner, front_desk):
    client = staff_client(owner)
    client.post(f"/accounts/staff/{front_desk.pk}/", {"action": "deactivate"})

    response = client.post(f"/accounts/staff/{front_desk.pk}/", {"action": "reactivate"})

    assert response.status_code == 302
    login = client_for(clinic).post("/accounts/login/", {"username": front_desk.username,
                                                          "password": TEST_PASSWORD},
                                    REMOTE_ADDR="10.20.0.2")
    assert login.wsgi_request.user == front_desk
    assert history(front_desk) == [(StaffEvent.Kind.INVITED, None, "front_desk"),
                                   (StaffEvent.Kind.DEACTIVATED, "owner", ""),
                                   (StaffEvent.Kind.REACTIVATED, "owner", "")]


def test_nobody_can_deactivate_themselves(clinic, manager):
    response = api(clinic, manager).patch(f"/api/v1/staff/{manager.pk}/", {"is_active": False},
                                          content_type="application/json")

    assert response.status_code == 400
    manager.refresh_from_db()
    assert manager.is_active


def test_the_staff_detail_page_shows_the_history_with_actors(staff_client, owner, front_desk):
    client = staff_client(owner)
    client.post(f"/accounts/staff/{front_desk.pk}/", {"action": "role", "role": "practitioner"})

    content = client.get(f"/accounts/staff/{front_desk.pk}/").content.decode()

    assert "front_desk → practitioner" in content
    assert owner.full_name in content


def test_an_invitation_defaults_to_the_least_privileged_role(clinic, staff_client, owner):
    from accounts.roles import DEFAULT_INVITE_ROLE, ROLE_PERMISSIONS, SENSITIVE_PERMISSIONS

    harmless = {role: perms for role, perms in ROLE_PERMISSIONS.items() if not perms & SENSITIVE_PERMISSIONS}
    assert DEFAULT_INVITE_ROLE == min(harmless, key=lambda role: len(harmless[role])) == Role.FRONT_DESK
    page = staff_client(owner).get("/accounts/staff/invite/").content.decode()
    assert re.search(r'<option value="front_desk" selected>', page)
    assert not re.search(r'<option value="practitioner" selected>', page)

    response = api(clinic, owner).post("/api/v1/staff/", NEW_PERSON, content_type="application/json")

    assert response.status_code == 201 and response.json()["role"] == "front_desk"
    person = User.objects.get(username="liu")
    assert person.role == Role.FRONT_DESK
    assert not person.has_perm("accounts.view_medical")
    assert history(person) == [(StaffEvent.Kind.INVITED, "owner", "front_desk")]
