"""The portal's walls: no page without a member session, no staff page with one, no member
page with a staff session, CSRF on every POST, and every query scoped to the signed-in member."""

import pytest
from django.test import Client
from django.urls import reverse

from clinics.context import clinic_host
from members.models import ConsentRecord
from portal.auth import COOKIE_NAME
from portal.models import ErasureRequest, PortalPreference

pytestmark = pytest.mark.django_db

GET_PAGES = ["portal:home", "portal:statement", "portal:profile", "portal:profile_details",
             "portal:profile_consent", "portal:profile_privacy", "portal:surveys"]
POST_ACTIONS = ["portal:profile_details", "portal:profile_language", "portal:profile_consent",
                "portal:profile_export", "portal:profile_erasure"]


@pytest.mark.parametrize("name", GET_PAGES)
def test_every_page_without_a_session_redirects_to_sign_in(anon_client, name):
    url = reverse(name)
    response = anon_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('portal:signin')}?next=")


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_every_action_without_a_session_redirects_and_changes_nothing(anon_client, portal_member, name):
    response = anon_client.post(reverse(name), {"purpose": "marketing_sms", "granted": "1", "language": "en",
                                                "name": "X", "gender": "female", "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:signin"))
    assert not ConsentRecord.objects.filter(member=portal_member, channel="portal").exists()
    assert not ErasureRequest.objects.exists()
    assert not PortalPreference.objects.exists()


def test_a_forged_or_revoked_cookie_is_no_session(clinic, portal_client):
    forged = Client(HTTP_HOST=clinic_host(clinic))
    forged.cookies[COOKIE_NAME] = "not-a-token"
    assert forged.get(reverse("portal:home")).status_code == 302
    portal_client.post(reverse("portal:signout"))
    assert portal_client.get(reverse("portal:home")).status_code == 302


def test_a_staff_session_is_not_a_member_session(staff_client, manager):
    client = staff_client(manager)
    assert client.get("/").status_code == 200
    for name in GET_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("portal:signin"))


def test_a_member_session_reaches_no_staff_page_or_api(portal_client, portal_member):
    for path in ("/", "/members/", f"/members/{portal_member.pk}/", "/manage/", "/manage/erasure-requests/"):
        response = portal_client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("accounts:login")), path
    for path in ("/api/v1/members/", f"/api/v1/members/{portal_member.pk}/"):
        response = portal_client.get(path)
        assert response.status_code in (401, 403), path
        assert portal_member.name not in response.content.decode()


def test_the_member_cookie_is_scoped_to_the_portal(clinic, portal_member):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from portal.auth import member_sign_in

    response = HttpResponse()
    member_sign_in(RequestFactory().get("/m/"), response, portal_member)
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["path"] == "/m/"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert COOKIE_NAME != "sessionid"


@pytest.mark.parametrize("name", ["portal:signin", "portal:verify", "portal:signout", *POST_ACTIONS])
def test_every_post_needs_the_csrf_token(portal_member, portal_client_for, name):
    client = portal_client_for(portal_member, enforce_csrf_checks=True)
    response = client.post(reverse(name), {"phone": "+8613800138000", "purpose": "marketing_sms", "granted": "1",
                                           "language": "en", "confirm": "on"})
    assert response.status_code == 403
    assert not ConsentRecord.objects.filter(member=portal_member, channel="portal").exists()
    assert not ErasureRequest.objects.exists()
    assert client.get(reverse("portal:home")).status_code == 200  # not signed out either


def test_a_post_with_the_token_passes(portal_member, portal_client_for):
    client = portal_client_for(portal_member, enforce_csrf_checks=True)
    client.get(reverse("portal:profile_consent"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("portal:profile_consent"),
                           {"purpose": "marketing_sms", "granted": "1", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert ConsentRecord.objects.filter(member=portal_member, channel="portal", purpose="marketing_sms").exists()


def test_pages_show_only_the_signed_in_members_records(portal_member, make_member, portal_client_for):
    from points.ledger import Source, account_for, ledger_credit

    other = make_member(name="赵别人", email="other@example.com")
    account = account_for(other, lock=True)
    ledger_credit(account=account, amount=777, kind="adjust", source=Source("adjustment", 1), actor=None)
    client = portal_client_for(portal_member)
    for name in GET_PAGES:
        content = client.get(reverse(name)).content.decode()
        assert "赵别人" not in content and "777" not in content and "other@example.com" not in content, name
    export = client.post(reverse("portal:profile_export")).json()
    assert export["member_number"] == portal_member.member_number
    assert "777" not in str(export)


def test_the_erasure_decision_of_another_member_id_is_not_found_for_staff_without_it(staff_client, manager):
    assert staff_client(manager).post(reverse("manager:erasure_request_decide", args=[999999]),
                                      {"decision": "decline", "note": "x"}).status_code == 404


def test_a_signed_in_member_skips_the_sign_in_form(portal_client):
    response = portal_client.get(reverse("portal:signin"), {"next": "/m/statement/"})
    assert response.status_code == 302 and response["Location"] == "/m/statement/"


def test_joining_needs_the_csrf_token_too(clinic):
    from members.models import Member
    from portal.models import SignInCode
    from portal.services import portal_settings_update

    portal_settings_update(actor=None, join_enabled=True)
    client = Client(HTTP_HOST=clinic_host(clinic), enforce_csrf_checks=True)
    data = {"name": "新会员", "phone": "13700137000", "data_processing": "on"}

    refused = client.post(reverse("portal:join"), data)

    assert refused.status_code == 403
    assert not Member.objects.filter(phone="+8613700137000").exists() and not SignInCode.objects.exists()
    client.get(reverse("portal:join"))
    accepted = client.post(reverse("portal:join"), {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert accepted.status_code == 302 and Member.objects.filter(phone="+8613700137000").exists()


def test_a_member_session_lasts_30_days_and_not_a_minute_more(clinic, portal_member):
    from datetime import timedelta

    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils import timezone

    from portal.auth import member_sign_in
    from portal.models import MemberSession

    response = HttpResponse()
    before = timezone.now()
    session = member_sign_in(RequestFactory().get("/m/"), response, portal_member)
    thirty_days = timedelta(days=30)
    assert int(response.cookies[COOKIE_NAME]["max-age"]) == thirty_days.total_seconds()
    assert before + thirty_days <= session.expires_at <= timezone.now() + thirty_days
    client = Client(HTTP_HOST=clinic_host(clinic))
    client.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME].value
    assert client.get(reverse("portal:home")).status_code == 200
    # Thirty days on, the same cookie is no session.
    MemberSession.objects.filter(pk=session.pk).update(created_at=session.created_at - thirty_days,
                                                       expires_at=session.expires_at - thirty_days)
    expired = client.get(reverse("portal:home"))
    assert expired.status_code == 302 and expired["Location"].startswith(reverse("portal:signin"))
