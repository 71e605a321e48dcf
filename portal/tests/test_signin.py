import re

import pytest
from django.test import Client
from django.urls import reverse

from clinics.context import clinic_host
from messaging.models import Message
from portal.auth import COOKIE_NAME
from portal.models import MemberSession, SignInCode

pytestmark = pytest.mark.django_db


def _ask_code(client: Client, phone: str, **extra):
    return client.post(reverse("portal:signin"), {"phone": phone, "next": "/m/statement/"}, **extra)


def _code_from_log(member) -> str:
    message = Message.objects.filter(member=member, purpose="sign_in_code").latest("created_at", "id")
    return re.search(r"(?<!\d)(\d{6})(?!\d)", message.body).group(1)


def test_member_signs_in_with_the_code_from_the_message_log(clinic, portal_member):
    client = Client(HTTP_HOST=clinic_host(clinic))
    response = _ask_code(client, "138 0013 8000")
    assert response.status_code == 302
    verify_url = response["Location"]
    assert verify_url.startswith(reverse("portal:verify"))
    message = Message.objects.get(member=portal_member, purpose="sign_in_code")
    assert message.status == Message.Status.QUEUED  # delivered after the commit
    assert message.recipient == "+8613800138000"

    response = client.post(verify_url, {"code": _code_from_log(portal_member)})
    assert response.status_code == 302
    assert response["Location"] == "/m/statement/"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["path"] == "/m/" and cookie["httponly"]
    assert int(cookie["max-age"]) == 30 * 24 * 3600
    assert client.get(reverse("portal:home")).status_code == 200


def test_a_code_works_once(clinic, portal_member):
    client = Client(HTTP_HOST=clinic_host(clinic))
    verify_url = _ask_code(client, "+8613800138000")["Location"]
    code = _code_from_log(portal_member)
    assert client.post(verify_url, {"code": code}).status_code == 302
    again = Client(HTTP_HOST=clinic_host(clinic)).post(verify_url, {"code": code})
    assert again.status_code == 200
    assert "expired or was already used" in again.content.decode()
    assert MemberSession.objects.filter(member=portal_member).count() == 1


def test_no_session_redirects_to_signin_with_next(anon_client):
    response = anon_client.get("/m/statement/?kind=earn")
    assert response.status_code == 302
    assert response["Location"] == "/m/signin/?next=%2Fm%2Fstatement%2F%3Fkind%3Dearn"


def test_sign_out_ends_only_this_session_and_everywhere_ends_all(clinic, portal_member, portal_client_for):
    phone, laptop = portal_client_for(portal_member), portal_client_for(portal_member)
    response = phone.post(reverse("portal:signout"))
    assert response.status_code == 302
    assert phone.get(reverse("portal:home")).status_code == 302
    assert laptop.get(reverse("portal:home")).status_code == 200

    tablet = portal_client_for(portal_member)
    tablet.post(reverse("portal:signout"), {"everywhere": "1"})
    assert laptop.get(reverse("portal:home")).status_code == 302
    assert tablet.get(reverse("portal:home")).status_code == 302
    assert not MemberSession.objects.filter(member=portal_member, revoked_at__isnull=True).exists()


def test_a_code_is_stored_hashed(clinic, portal_member):
    _ask_code(Client(HTTP_HOST=clinic_host(clinic)), "+8613800138000")
    code = _code_from_log(portal_member)
    row = SignInCode.objects.get(member=portal_member)
    assert code not in row.code_hash
