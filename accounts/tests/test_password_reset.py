"""Password reset by email: the link comes on the clinic's own host and lets the person choose a
new password once."""

import re

import pytest
from django.conf import settings
from django.core import mail

from accounts.roles import Role
from conftest import TEST_PASSWORD, client_for

NEW_PASSWORD = "Brand-new-secret-58"


def ask_for_reset(clinic, email: str):
    return client_for(clinic).post("/accounts/password-reset/", {"email": email})


def link_in(message) -> str:
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1
    return links[0]


def choose_password(clinic, link: str, password: str = NEW_PASSWORD):
    client = client_for(clinic)
    path = link.split(settings.BASE_DOMAIN, 1)[1]
    form_page = client.get(path, follow=True)
    saved = client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
                        {"new_password1": password, "new_password2": password})
    return form_page, saved


def can_log_in(clinic, username: str, password: str) -> bool:
    response = client_for(clinic).post("/accounts/login/", {"username": username, "password": password},
                                       REMOTE_ADDR="10.30.0.1")
    return response.wsgi_request.user.is_authenticated


@pytest.fixture
def person(make_staff):
    return make_staff(Role.PRACTITIONER, email="reset.me@clinic.test")


def test_the_reset_email_links_to_the_clinic_host(clinic, person):
    response = ask_for_reset(clinic, "Reset.Me@clinic.test")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert [m.to for m in mail.outbox] == [["reset.me@clinic.test"]]
    assert link_in(mail.outbox[0]).startswith(f"http://{clinic.schema_name}.{settings.BASE_DOMAIN}/accounts/reset/")
    assert person.username in mail.outbox[0].body


def test_following_the_link_sets_a_new_password_that_logs_in(clinic, person):
    ask_for_reset(clinic, person.email)

    form_page, saved = choose_password(clinic, link_in(mail.outbox[0]))

    assert form_page.context["validlink"] is True
    assert saved.status_code == 302
    assert saved["Location"] == "/accounts/reset/done/"
    assert can_log_in(clinic, person.username, NEW_PASSWORD)
    assert not can_log_in(clinic, person.username, TEST_PASSWORD)


def test_the_link_works_only_once(clinic, person):
    ask_for_reset(clinic, person.email)
    link = link_in(mail.outbox[0])
    choose_password(clinic, link)

    form_page, _saved = choose_password(clinic, link, "Yet-another-one-91")

    assert form_page.context["validlink"] is False
    assert can_log_in(clinic, person.username, NEW_PASSWORD)


def test_an_unknown_email_gets_the_same_answer_and_no_mail(clinic):
    response = ask_for_reset(clinic, "nobody@nowhere.test")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_a_deactivated_account_gets_no_mail(clinic, person, owner):
    person.is_active = False
    person.save()

    ask_for_reset(clinic, person.email)

    assert mail.outbox == []


def test_another_clinic_staff_email_gets_no_mail_from_this_clinic(clinic, other_clinic):
    ask_for_reset(clinic, "owner@other.test")

    assert mail.outbox == []


def test_an_invited_person_whose_invitation_expired_can_ask_for_a_new_link(clinic, make_staff):
    invited = make_staff(Role.FRONT_DESK, email="invited@clinic.test", password=None)

    ask_for_reset(clinic, "invited@clinic.test")
    choose_password(clinic, link_in(mail.outbox[0]))

    assert can_log_in(clinic, invited.username, NEW_PASSWORD)
