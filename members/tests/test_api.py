import pytest

from members.models import MedicalAccessLog, Member

URL = "/api/v1/members/"
NEW = {"name": "张小美", "phone": "13812345678", "birthday": "1990-05-17", "gender": "female",
       "consents": [{"purpose": "marketing_sms", "granted": True}]}


@pytest.fixture
def desk(staff_client, front_desk):
    return staff_client(front_desk)


def test_register_then_find_by_initials(desk):
    created = desk.post(URL, NEW, content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json()["phone"] == "+8613812345678"

    found = desk.get(URL, {"q": "zxm"}).json()
    assert [m["member_number"] for m in found] == [created.json()["member_number"]]
    assert found[0]["has_allergies"] is False


def test_duplicate_phone_is_a_409_pointing_to_the_existing_member(desk):
    first = desk.post(URL, NEW, content_type="application/json").json()

    again = desk.post(URL, {**NEW, "name": "另一个人", "phone": "138-1234-5678"},
                      content_type="application/json")

    assert again.status_code == 409
    body = again.json()["error"]
    assert body["code"] == "duplicate_member"
    assert body["existing_member"]["id"] == first["id"]
    assert Member.objects.count() == 1


def test_bad_input_is_a_400_with_field_errors_in_the_clinic_language(desk):
    response = desk.post(URL, {"name": "", "phone": "123", "birthday": "not-a-date"},
                         content_type="application/json")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) >= {"name", "birthday"}
    assert "该字段不能为空" in fields["name"][0]
    assert not Member.objects.exists()


def test_invalid_phone_is_a_400_not_a_500(desk):
    response = desk.post(URL, {**NEW, "phone": "12345"}, content_type="application/json")
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"] or response.json()["error"]["message"]


def test_medical_profile_roles(staff_client, front_desk, practitioner, owner):
    member_id = staff_client(front_desk).post(URL, NEW, content_type="application/json").json()["id"]
    medical = f"{URL}{member_id}/medical/"

    put = staff_client(practitioner).put(medical, {"allergies": "青霉素"}, content_type="application/json")
    assert put.status_code == 200
    assert staff_client(front_desk).get(medical).status_code == 403
    assert staff_client(owner).get(medical).status_code == 403
    assert staff_client(practitioner).get(medical).json()["allergies"] == "青霉素"
    assert staff_client(front_desk).get(f"{URL}{member_id}/").json()["has_allergies"] is True
    assert MedicalAccessLog.objects.filter(action="read").count() == 1


def test_merge_and_erase_need_a_manager(staff_client, front_desk, manager):
    desk = staff_client(front_desk)
    a = desk.post(URL, NEW, content_type="application/json").json()["id"]
    b = desk.post(URL, {**NEW, "phone": "13900001111"}, content_type="application/json").json()["id"]

    assert desk.post(f"{URL}{a}/merge/", {"duplicate_id": b}, content_type="application/json").status_code == 403
    assert desk.post(f"{URL}{a}/erase/", {"reason": "x"}, content_type="application/json").status_code == 403

    boss = staff_client(manager)
    assert boss.post(f"{URL}{a}/merge/", {"duplicate_id": b}, content_type="application/json").status_code == 200
    assert Member.objects.get(pk=b).status == Member.Status.MERGED
    erased = boss.post(f"{URL}{a}/erase/", {"reason": "会员要求删除"}, content_type="application/json")
    assert erased.status_code == 200 and erased.json()["phone"] is None


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(URL, {"q": "zxm"}).status_code == 401


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_archiving_needs_a_reason_on_the_reason_field(staff_client, manager, reason):
    client = staff_client(manager)
    member = client.post(URL, NEW, content_type="application/json").json()
    body = {"action": "archive"} if reason is None else {"action": "archive", "reason": reason}

    refused = client.post(f"{URL}{member['id']}/status/", body, content_type="application/json")

    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["reason"]
    assert Member.objects.get(pk=member["id"]).status == Member.Status.ACTIVE
    archived = client.post(f"{URL}{member['id']}/status/", {"action": "archive", "reason": "搬家"},
                           content_type="application/json")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
