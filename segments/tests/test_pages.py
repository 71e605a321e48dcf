"""The manager's segment pages and the tags box of the front-desk member page."""

import csv
import io

from members.models import MemberTagEvent
from segments.models import Segment
from segments.services import segment_create
from segments.tests.test_api import in_clinic_language


def _rows(**fields):
    return {"name": "VIP 女性", "description": "", **fields}


def test_the_editor_counts_saves_and_reopens_a_segment(make_member, staff_client, manager):
    make_member("甲", gender="female", tags=["vip"])
    make_member("乙", gender="female")
    make_member("丙", gender="male", tags=["vip"])
    client = staff_client(manager)
    page = client.get("/manage/segments/new/")
    token = page.context["token"]
    post = {**_rows(), "form_token": token,
            "c-0-kind": "tag", "c-0-tags": "VIP， 老客", "c-0-match": "any",
            "c-1-kind": "gender", "c-1-genders": ["female"], "c-1-group": "a",
            "c-2-kind": "age", "c-2-min": "60", "c-2-group": "A"}

    preview = client.post("/manage/segments/preview/", post)
    saved = client.post("/manage/segments/new/", post)

    assert 'data-count="1"' in preview.content.decode() and "甲" in preview.content.decode()
    segment = Segment.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/manage/segments/{segment.pk}/"
    assert segment.conditions == {"all": [
        {"kind": "tag", "negate": False, "tags": ["vip", "老客"], "match": "any"},
        {"any": [{"kind": "gender", "negate": False, "genders": ["female"]},
                 {"kind": "age", "negate": False, "min": 60, "max": None}], "negate": False}]}
    reopened = client.get(f"/manage/segments/{segment.pk}/").content.decode()
    assert 'name="c-2-min" value="60"' in reopened and 'value="A"' in reopened
    assert client.get(f"/manage/segments/{segment.pk}/count/").content.decode() == "1"
    assert "VIP 女性" in client.get("/manage/segments/").content.decode()


def test_the_editor_shows_what_is_wrong_and_saves_nothing(staff_client, manager, db):
    client = staff_client(manager)
    token = client.get("/manage/segments/new/").context["token"]
    post = {**_rows(), "form_token": token, "c-0-kind": "spend", "c-0-min": "500", "c-0-max": "100"}

    preview = client.post("/manage/segments/preview/", post).content.decode()
    saved = client.post("/manage/segments/new/", post)

    message = in_clinic_language("The upper limit cannot be below the lower limit.")
    assert "segment-preview-error" in preview and message in preview
    assert saved.status_code == 400 and message in saved.content.decode()
    assert not Segment.objects.exists()


def test_a_new_row_of_each_kind_renders(staff_client, manager, db):
    client = staff_client(manager)
    from segments.conditions import KINDS

    for kind in KINDS:
        row = client.get("/manage/segments/row/", {"kind": kind, "index": 3})
        assert row.status_code == 200 and f'name="c-3-kind" value="{kind}"' in row.content.decode()
    assert client.get("/manage/segments/row/", {"kind": "nope"}).status_code == 400


def test_export_is_a_csv_of_the_members(make_member, staff_client, manager):
    make_member("甲", tags=["vip", "玻尿酸"])
    make_member("乙")
    segment = segment_create(actor=manager, name="VIP", conditions={"all": [{"kind": "tag", "tags": ["vip"]}]})

    response = staff_client(manager).get(f"/manage/segments/{segment.pk}/export.csv")

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["member_number", "name", "phone"]
    assert [(r[1], r[7]) for r in rows[1:]] == [("甲", "vip|玻尿酸")]


def test_front_desk_cannot_open_segment_pages(staff_client, front_desk, db):
    client = staff_client(front_desk)
    assert client.get("/manage/segments/").status_code == 403
    assert client.post("/manage/segments/preview/", {}).status_code == 403


def test_front_desk_adds_and_removes_tags_on_the_member_page(make_member, staff_client, front_desk):
    member = make_member("标签")
    client = staff_client(front_desk)

    added = client.post(f"/members/{member.pk}/tags/", {"action": "add", "tag": "敏感肌"}, HTTP_HX_REQUEST="true")
    removed = client.post(f"/members/{member.pk}/tags/", {"action": "remove", "tag": "敏感肌"}, HTTP_HX_REQUEST="true")
    empty = client.post(f"/members/{member.pk}/tags/", {"action": "add", "tag": "  "}, HTTP_HX_REQUEST="true")

    assert 'data-tag="敏感肌"' in added.content.decode()
    assert 'data-tag="敏感肌"' not in removed.content.decode() and 'class="tag-history"' in removed.content.decode()
    assert empty.status_code == 400 and "tag-error" in empty.content.decode()
    assert [e.action for e in MemberTagEvent.objects.filter(member=member).order_by("id")] == ["added", "removed"]
    assert 'id="member-tags"' in client.get(f"/members/{member.pk}/").content.decode()
