"""The segments API and the member tags API: who may do what, counts and pages that match the
members built here, bad definitions refused with a clear message and nothing changed."""



from django.utils import translation

from members.models import MemberTagEvent
from segments.models import Segment, SegmentEvent


def in_clinic_language(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


DORMANT_SMS = {"all": [{"kind": "tag", "tags": ["vip"]},
                       {"any": [{"kind": "gender", "genders": ["female"]}, {"kind": "age", "min": 60}]}]}


def test_managers_create_count_and_page_through_a_segment(make_member, staff_client, manager):
    for n in range(3):
        make_member(f"V{n}", gender="female", tags=["VIP"])
    make_member("M", gender="male", tags=["vip"])
    make_member("N", gender="female")
    client = staff_client(manager)

    made = client.post("/api/v1/segments/", {"name": "VIP 女性", "conditions": DORMANT_SMS},
                       content_type="application/json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert made.json()["conditions"]["all"][0] == {"kind": "tag", "negate": False, "tags": ["vip"], "match": "any"}

    assert client.get(f"/api/v1/segments/{pk}/count/").json()["count"] == 3
    page = client.get(f"/api/v1/segments/{pk}/members/?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert sorted(m["name"] for m in client.get(f"/api/v1/segments/{pk}/members/").json()["results"]) == \
        ["V0", "V1", "V2"]
    preview = client.post("/api/v1/segments/preview/", {"conditions": {"all": [{"kind": "tag", "tags": ["vip"]}]}},
                          content_type="application/json").json()
    assert preview["count"] == 4 and len(preview["sample"]) == 4

    changed = client.patch(f"/api/v1/segments/{pk}/", {"name": "VIP", "archived": True},
                           content_type="application/json")
    assert changed.status_code == 200 and changed.json()["archived"] is True
    assert [e.kind for e in SegmentEvent.objects.filter(segment_id=pk).order_by("id")] == \
        ["created", "updated", "archived"]
    assert client.get("/api/v1/segments/").json() == []
    assert [s["name"] for s in client.get("/api/v1/segments/?archived=true").json()] == ["VIP"]


def test_bad_definitions_get_a_clear_400_and_change_nothing(staff_client, manager, db):
    client = staff_client(manager)

    bad = client.post("/api/v1/segments/", {"name": "坏", "conditions": {"all": [{"kind": "spend", "min": "9",
                                                                                   "max": "1"}]}},
                      content_type="application/json")
    unknown = client.post("/api/v1/segments/preview/", {"conditions": {"all": [{"kind": "horoscope"}]}},
                          content_type="application/json")

    assert bad.status_code == 400 and in_clinic_language("The upper limit cannot be below the lower limit.") \
        in bad.json()["error"]["message"]
    assert unknown.status_code == 400 and "horoscope" in unknown.json()["error"]["message"]
    assert not Segment.objects.exists()


def test_duplicate_live_names_are_refused(staff_client, manager, db):
    client = staff_client(manager)
    client.post("/api/v1/segments/", {"name": "沉睡客户", "conditions": {"all": []}}, content_type="application/json")

    again = client.post("/api/v1/segments/", {"name": "沉睡客户", "conditions": {"all": []}},
                        content_type="application/json")

    assert again.status_code == 400 and "name" in again.json()["error"]["fields"]


def test_front_desk_may_not_read_or_write_segments(staff_client, front_desk, db):
    client = staff_client(front_desk)
    assert client.get("/api/v1/segments/").status_code == 403
    assert client.post("/api/v1/segments/", {"name": "x", "conditions": {"all": []}},
                       content_type="application/json").status_code == 403
    assert not Segment.objects.exists()


def test_staff_add_and_remove_tags_with_history(make_member, staff_client, front_desk):
    member = make_member("T", tags=["老客"])
    client = staff_client(front_desk)

    added = client.post(f"/api/v1/members/{member.pk}/tags/", {"tag": " VIP "}, content_type="application/json")
    again = client.post(f"/api/v1/members/{member.pk}/tags/", {"tag": "vip"}, content_type="application/json")
    removed = client.post(f"/api/v1/members/{member.pk}/tags/", {"tag": "老客", "action": "remove"},
                          content_type="application/json")

    assert added.json()["tags"] == ["老客", "vip"] and again.json()["tags"] == ["老客", "vip"]
    assert removed.json()["tags"] == ["vip"]
    history = [(e.tag, e.action, e.actor_id) for e in MemberTagEvent.objects.filter(member=member).order_by("id")]
    assert history == [("老客", "added", None), ("vip", "added", front_desk.pk), ("老客", "removed", front_desk.pk)]
    assert removed.json()["history"][0]["tag"] == "老客" and removed.json()["history"][0]["action"] == "removed"
    too_long = client.post(f"/api/v1/members/{member.pk}/tags/", {"tag": "x" * 41}, content_type="application/json")
    assert too_long.status_code == 400


def test_segment_count_moves_with_tags(make_member, staff_client, manager):
    member = make_member("T")
    client = staff_client(manager)
    pk = client.post("/api/v1/segments/", {"name": "VIP", "conditions": {"all": [{"kind": "tag", "tags": ["vip"]}]}},
                     content_type="application/json").json()["id"]
    assert client.get(f"/api/v1/segments/{pk}/count/").json()["count"] == 0

    client.post(f"/api/v1/members/{member.pk}/tags/", {"tag": "VIP"}, content_type="application/json")

    assert client.get(f"/api/v1/segments/{pk}/count/").json()["count"] == 1
