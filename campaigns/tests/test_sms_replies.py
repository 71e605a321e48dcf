"""The SMS provider's reply webhook: a signed reply TD/退订 (any case, full-width too) from a
member's number withdraws the member's SMS marketing consent, once per provider message id; an
unknown number is answered like a known one; a missing or wrong signature is 403 and changes
nothing."""

import hashlib
import hmac
import json

import pytest

from campaigns.campaign_services import sms_reply_is_opt_out
from campaigns.models import SmsReply
from members.models import ConsentRecord
from members.selectors import consent_granted

URL = "/api/v1/campaigns/sms-replies/"
SECRET = "provider-shared-secret"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.SMS_INBOUND_SECRET = SECRET


def signed(payload: dict, secret: str = SECRET) -> tuple[bytes, str]:
    raw = json.dumps(payload, ensure_ascii=False).encode()
    return raw, "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def deliver(client, payload: dict, *, signature: str | None = None, secret: str = SECRET):
    raw, good = signed(payload, secret)
    headers = {} if signature == "" else {"HTTP_X_SIGNATURE": signature or good}
    return client.post(URL, raw, content_type="application/json", **headers)


def sms_withdrawals(member) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(member=member, purpose="marketing_sms", granted=False))


@pytest.mark.parametrize("text", ["TD", "td", " Td ", "ＴＤ", "ｔｄ", "T", "退订", "退订。", "unsubscribe",
                                  "UNSUBSCRIBE", "STOP", "TD!"])
def test_the_opt_out_words(text):
    assert sms_reply_is_opt_out(text)


@pytest.mark.parametrize("text", ["", "谢谢", "TDD", "T D", "好的 TD", "stopp", "预约"])
def test_other_replies_are_not_opt_outs(text):
    assert not sms_reply_is_opt_out(text)


def test_a_members_td_withdraws_sms_marketing_once_per_message_id(anon_client, make_member):
    member = make_member()
    assert consent_granted(member=member, purpose="marketing_sms")
    national = member.phone.removeprefix("+86")
    payload = {"message_id": "prov-1", "phone": national, "text": "ＴＤ"}
    first = deliver(anon_client, payload)
    assert first.status_code == 200 and first.json() == {"received": True}
    assert not consent_granted(member=member, purpose="marketing_sms")
    assert consent_granted(member=member, purpose="marketing_email")
    [withdrawal] = sms_withdrawals(member)
    assert withdrawal.channel == ConsentRecord.Channel.SMS_REPLY and withdrawal.recorded_by is None

    again = deliver(anon_client, payload)
    assert again.status_code == 200 and again.json() == {"received": True}
    assert len(sms_withdrawals(member)) == 1
    assert SmsReply.objects.get().opted_out

    other_word = deliver(anon_client, {"message_id": "prov-2", "phone": member.phone, "text": "谢谢"})
    assert other_word.status_code == 200
    assert len(sms_withdrawals(member)) == 1
    assert SmsReply.objects.filter(opted_out=False).count() == 1


def test_an_unknown_number_is_answered_like_a_known_one_and_stored_without_the_number(anon_client, make_member):
    member = make_member()
    known = deliver(anon_client, {"message_id": "m-known", "phone": member.phone, "text": "hello"})
    unknown = deliver(anon_client, {"message_id": "m-unknown", "phone": "13812345678", "text": "TD"})
    garbage = deliver(anon_client, {"message_id": "m-garbage", "phone": "not a number", "text": "TD"})
    assert known.status_code == unknown.status_code == garbage.status_code == 200
    assert known.content == unknown.content == garbage.content
    stored = SmsReply.objects.get(provider_message_id="m-unknown")
    assert (stored.member, stored.text, stored.opted_out) == (None, "", False)
    assert not ConsentRecord.objects.filter(granted=False).exists()


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "wrong"])
def test_a_missing_or_wrong_signature_is_403_and_changes_nothing(anon_client, make_member, signature):
    member = make_member()
    response = deliver(anon_client, {"message_id": "x", "phone": member.phone, "text": "TD"}, signature=signature)
    assert response.status_code == 403
    assert consent_granted(member=member, purpose="marketing_sms")
    assert not SmsReply.objects.exists()


def test_a_body_signed_with_another_secret_is_403(anon_client, make_member):
    member = make_member()
    response = deliver(anon_client, {"message_id": "x", "phone": member.phone, "text": "TD"}, secret="guessed")
    assert response.status_code == 403
    assert consent_granted(member=member, purpose="marketing_sms")


def test_without_a_configured_secret_every_request_is_403(anon_client, make_member, settings):
    member = make_member()
    settings.SMS_INBOUND_SECRET = ""
    response = deliver(anon_client, {"message_id": "x", "phone": member.phone, "text": "TD"}, secret="")
    assert response.status_code == 403
    assert consent_granted(member=member, purpose="marketing_sms")


def test_a_signed_but_malformed_body_is_400_on_its_field(anon_client):
    missing = deliver(anon_client, {"phone": "13900000001", "text": "TD"})
    assert missing.status_code == 400 and "message_id" in missing.json()["error"]["fields"]
    unknown = deliver(anon_client, {"message_id": "m", "phone": "13900000001", "text": "TD", "extra": 1})
    assert unknown.status_code == 400 and "extra" in unknown.json()["error"]["fields"]
    assert not SmsReply.objects.exists()
