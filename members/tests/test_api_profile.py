"""Members API: editing a profile, archiving and restoring, consents."""

import pytest

from members.models import ConsentRecord, Member, MemberEvent
from members.services import member_register

URL = "/api/v1/members/"
JSON = "application/json"


@pytest.fixture
def member(db) -> Member:
    return member_register(name="张小美", phone="13812345678", actor=None)


def test_front_desk_edits_a_profile_and_the_change_is_recorded(staff_client, front_desk, member):
    response = staff_client(front_desk).patch(f"{URL}{member.pk}/", {
        "name": "张晓美", "phone": "139 1234 5678", "tags": ["Skincare", " anti-ageing "], "email": "ZXM@EXAMPLE.COM"},
        content_type=JSON)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["phone"], body["tags"], body["email"]) == (
        "张晓美", "+8613912345678", ["skincare", "anti-ageing"], "zxm@example.com")
    event = MemberEvent.objects.get(member=member, kind=MemberEvent.Kind.UPDATED)
    assert event.actor == front_desk
    assert set(event.detail["fields"]) >= {"name", "phone", "tags", "email"}


def test_bad_edits_are_400_or_409_and_change_nothing(staff_client, front_desk, member):
    member_register(name="李娜", phone="13912345678", actor=None)
    client = staff_client(front_desk)

    taken = client.patch(f"{URL}{member.pk}/", {"phone": "13912345678"}, content_type=JSON)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "duplicate_member"
    bad = client.patch(f"{URL}{member.pk}/", {"phone": "123", "birthday": "31-02-1990"}, content_type=JSON)
    assert bad.status_code == 400
    assert "birthday" in bad.json()["error"]["fields"]
    assert client.patch(f"{URL}999999/", {"name": "x"}, content_type=JSON).status_code == 404
    member.refresh_from_db()
    assert (member.phone, member.name) == ("+8613812345678", "张小美")


def test_managers_archive_and_restore_and_the_front_desk_may_not(staff_client, front_desk, manager, member):
    url = f"{URL}{member.pk}/status/"
    assert staff_client(front_desk).post(url, {"action": "archive"}, content_type=JSON).status_code == 403

    archived = staff_client(manager).post(url, {"action": "archive", "reason": "搬家"}, content_type=JSON)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert staff_client(front_desk).get(URL, {"q": "zxm"}).json() == []
    edit = staff_client(front_desk).patch(f"{URL}{member.pk}/", {"name": "x"}, content_type=JSON)
    assert edit.status_code == 400

    again = staff_client(manager).post(url, {"action": "archive"}, content_type=JSON)
    assert again.status_code == 400
    assert staff_client(manager).post(url, {"action": "delete"}, content_type=JSON).status_code == 400

    restored = staff_client(manager).post(url, {"action": "restore"}, content_type=JSON)
    assert restored.json()["status"] == "active"
    assert [m["id"] for m in staff_client(front_desk).get(URL, {"q": "zxm"}).json()] == [member.pk]


def test_consents_recorded_and_the_current_state_read_back(staff_client, front_desk, member):
    client = staff_client(front_desk)
    url = f"{URL}{member.pk}/consents/"

    granted = client.post(url, {"purpose": "marketing_sms", "granted": True}, content_type=JSON)
    assert granted.status_code == 201
    client.post(url, {"purpose": "marketing_sms", "granted": False, "channel": "paper"}, content_type=JSON)
    client.post(url, {"purpose": "photos", "granted": True}, content_type=JSON)

    current = {row["purpose"]: row for row in client.get(url).json()}
    assert set(current) == {"marketing_sms", "photos"}
    assert current["marketing_sms"]["granted"] is False
    assert current["marketing_sms"]["channel"] == "paper"
    assert ConsentRecord.objects.filter(member=member).count() == 3

    bad = client.post(url, {"purpose": "telepathy", "granted": "perhaps"}, content_type=JSON)
    assert bad.status_code == 400
    assert {"purpose", "granted"} <= set(bad.json()["error"]["fields"])
    assert ConsentRecord.objects.filter(member=member).count() == 3
