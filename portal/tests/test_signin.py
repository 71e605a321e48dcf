import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import SignInAttempt
from clinics.context import clinic_host
from messaging.models import Message
from portal.auth import COOKIE_NAME
from portal.models import MemberSession, SignInCode

pytestmark = pytest.mark.django_db


def _english(clinic) -> Client:
    """A visitor whose language (cookie) is English, so texts can be asserted as written."""
    client = Client(HTTP_HOST=clinic_host(clinic))
    client.cookies["django_language"] = "en"
    return client


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
    client = _english(clinic)
    verify_url = _ask_code(client, "+8613800138000")["Location"]
    code = _code_from_log(portal_member)
    assert client.post(verify_url, {"code": code}).status_code == 302
    again = _english(clinic).post(verify_url, {"code": code})
    assert again.status_code == 400
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


def _verify_url(client: Client, phone: str) -> str:
    response = _ask_code(client, phone)
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def test_the_sixth_try_is_refused_even_with_the_right_code(clinic, portal_member):
    client = _english(clinic)
    verify_url = _verify_url(client, "+8613800138000")
    code = _code_from_log(portal_member)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        response = client.post(verify_url, {"code": wrong})
        assert response.status_code == 400
        assert f"{left} tr" in response.content.decode()
    response = client.post(verify_url, {"code": wrong})
    assert "Too many wrong codes" in response.content.decode()
    response = client.post(verify_url, {"code": code}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    assert COOKIE_NAME not in response.cookies
    assert SignInCode.objects.get(phone="+8613800138000").attempts == 5


def test_five_failed_codes_lock_the_phone_at_that_address_like_a_staff_sign_in(clinic, portal_member):
    """The sign-in guard counts the member's failures as it counts staff ones (docs/security.md):
    after five, even a new and right code is refused from that address until the window ends,
    with 429 and Retry-After; the member's usual phone network elsewhere is not affected."""
    client = _english(clinic)
    verify_url = _verify_url(client, "+8613800138000")
    code = _code_from_log(portal_member)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert client.post(verify_url, {"code": wrong}).status_code == 400
    verify_url = _verify_url(client, "+8613800138000")
    response = client.post(verify_url, {"code": _code_from_log(portal_member)})
    assert response.status_code == 429
    assert 840 <= int(response["Retry-After"]) <= 900
    assert "Too many failed sign-ins for this account from your network. Please try again in 15 minutes." \
        in response.content.decode()
    assert COOKIE_NAME not in response.cookies
    failures = SignInAttempt.objects.filter(identifier="member:+8613800138000", succeeded=False)
    assert failures.count() == 5 and set(failures.values_list("address", flat=True)) == {"127.0.0.1"}

    elsewhere = client.post(verify_url, {"code": _code_from_log(portal_member)}, REMOTE_ADDR="10.2.2.2")
    assert elsewhere.status_code == 302
    assert SignInAttempt.objects.filter(identifier="member:+8613800138000", succeeded=True,
                                        address="10.2.2.2").count() == 1


@override_settings(TRUSTED_PROXIES=["10.0.0.1"])
def test_behind_a_trusted_proxy_the_code_limits_count_the_forwarded_client(clinic, portal_member):
    client = _english(clinic)
    for n in range(5):
        assert _ask_code(client, f"+86139000000{n:02d}", REMOTE_ADDR="10.0.0.1",
                         HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 302
    assert _ask_code(client, "+8613800138000", REMOTE_ADDR="10.0.0.1",
                     HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 400
    # Another client behind the same proxy is not limited by the first one's codes.
    assert _ask_code(client, "+8613800138000", REMOTE_ADDR="10.0.0.1",
                     HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302
    assert set(SignInCode.objects.values_list("ip", flat=True)) == {"203.0.113.7", "203.0.113.8"}


def test_a_code_expires_after_five_minutes(clinic, portal_member):
    client = _english(clinic)
    verify_url = _verify_url(client, "+8613800138000")
    SignInCode.objects.filter(phone="+8613800138000").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(verify_url, {"code": _code_from_log(portal_member)})
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_only_the_latest_code_counts(clinic, portal_member):
    client = Client(HTTP_HOST=clinic_host(clinic))
    _verify_url(client, "+8613800138000")
    first = _code_from_log(portal_member)
    verify_url = _verify_url(client, "+8613800138000")
    second = _code_from_log(portal_member)
    if first != second:
        assert client.post(verify_url, {"code": first}).status_code == 400
    assert client.post(verify_url, {"code": second}).status_code == 302


def _normalized(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'name="p" value="[^"]+"', 'name="p" value=""', html).replace("13900000001", "PHONE") \
        .replace("138 0013 8000", "PHONE").replace("139 0000 0001", "PHONE")


def test_the_answers_are_the_same_for_a_member_and_a_stranger(clinic, portal_member):
    member_client, stranger_client = Client(HTTP_HOST=clinic_host(clinic)), Client(HTTP_HOST=clinic_host(clinic))
    asked = [_ask_code(member_client, "+8613800138000"), _ask_code(stranger_client, "+8613900000001")]
    assert [r.status_code for r in asked] == [302, 302]
    assert [r["Location"].split("?")[0] for r in asked] == [reverse("portal:verify")] * 2
    pages = [client.get(response["Location"]) for client, response in zip(
        (member_client, stranger_client), asked, strict=True)]
    assert _normalized(pages[0].content.decode()) == _normalized(pages[1].content.decode())
    tries = [client.post(response["Location"], {"code": "000000"}) for client, response in zip(
        (member_client, stranger_client), asked, strict=True)]
    if _code_from_log(portal_member) != "000000":
        assert [t.status_code for t in tries] == [400, 400]
        assert _normalized(tries[0].content.decode()) == _normalized(tries[1].content.decode())
    assert not Message.objects.filter(recipient="+8613900000001").exists()


def test_five_codes_per_phone_an_hour(clinic, portal_member):
    client = _english(clinic)
    for n in range(5):
        assert _ask_code(client, "+8613800138000", REMOTE_ADDR=f"10.0.0.{n}").status_code == 302
    refused = _ask_code(client, "+8613800138000", REMOTE_ADDR="10.0.0.99")
    assert refused.status_code == 400
    assert "Too many codes were asked for this number or from this network. Try again in 60 minutes." \
        in refused.content.decode()
    assert Message.objects.filter(member=portal_member, purpose="sign_in_code").count() == 5
    SignInCode.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert _ask_code(client, "+8613800138000", REMOTE_ADDR="10.0.0.99").status_code == 302


def test_five_codes_per_address_an_hour_whoever_the_phones_belong_to(clinic, portal_member):
    client = _english(clinic)
    for n in range(5):
        assert _ask_code(client, f"+86139000000{n:02d}", REMOTE_ADDR="10.1.1.1").status_code == 302
    refused = _ask_code(client, "+8613800138000", REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 400
    assert "Too many codes" in refused.content.decode()
    assert not Message.objects.filter(member=portal_member).exists()
    assert _ask_code(client, "+8613800138000", REMOTE_ADDR="10.1.1.2").status_code == 302


def test_a_malformed_phone_is_a_form_error_in_the_visitors_language(clinic):
    client = Client(HTTP_HOST=clinic_host(clinic))
    response = client.post(reverse("portal:signin"), {"phone": "12"})  # the clinic's language: zh-Hans
    assert response.status_code == 400
    assert "请输入有效的手机号码" in response.content.decode()
    assert not SignInCode.objects.exists()


def test_a_sign_in_code_ignores_the_clinics_service_message_switch(clinic, portal_member):
    from messaging.services import messaging_settings_update

    messaging_settings_update(actor=None, service_messages_enabled=False)
    _ask_code(Client(HTTP_HOST=clinic_host(clinic)), "+8613800138000")
    assert Message.objects.get(member=portal_member, purpose="sign_in_code").status == Message.Status.QUEUED


def test_an_archived_member_gets_no_code_and_cannot_sign_in(clinic, portal_member):
    from members.services import member_archive

    member_archive(member=portal_member, actor=None)
    client = Client(HTTP_HOST=clinic_host(clinic))
    assert _ask_code(client, "+8613800138000").status_code == 302
    assert not Message.objects.filter(member=portal_member).exists()


def test_a_tampered_verify_link_goes_back_to_sign_in(clinic):
    client = Client(HTTP_HOST=clinic_host(clinic))
    response = client.post(reverse("portal:verify"), {"p": "+8613800138000", "code": "123456"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:signin"))


def test_next_must_be_a_portal_path_on_this_host(clinic, portal_member):
    client = Client(HTTP_HOST=clinic_host(clinic))
    response = client.post(reverse("portal:signin"), {"phone": "+8613800138000", "next": "https://evil.example/m/"})
    response = client.post(response["Location"], {"code": _code_from_log(portal_member)})
    assert response["Location"] == reverse("portal:home")


def test_housekeeping_deletes_ended_sessions_and_old_codes_only(clinic, portal_member):
    from jobs.models import JobRun
    from portal.auth import member_session_create
    from portal.tasks import portal_records_clear

    live, _token = member_session_create(member=portal_member)
    old, _token = member_session_create(member=portal_member)
    MemberSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40),
                                                   expires_at=timezone.now() - timedelta(days=10))
    _ask_code(_english(clinic), "+8613800138000")
    SignInCode.objects.create(phone="+8613800138000", code_hash="x", created_at=timezone.now() - timedelta(days=8),
                              expires_at=timezone.now() - timedelta(days=8))
    counts = portal_records_clear.delay().get()
    assert counts == {"sessions_deleted": 1, "codes_deleted": 1}
    assert list(MemberSession.objects.values_list("pk", flat=True)) == [live.pk]
    assert SignInCode.objects.count() == 1
    assert JobRun.objects.filter(job="portal.tasks.portal_records_clear", status="succeeded").exists()
