import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportRun
from imports.tests.conftest import csv_file, sample_file
from members.models import Member

URL = "/api/v1/imports/"
MEMBERS = "name,phone\n张小美,13812345678\n李娜,13912345678\n"


@pytest.fixture
def managing(staff_client, manager):
    return staff_client(manager)


def upload(client, kind: str, file, **data):
    return client.post(f"{URL}{kind}/", {"file": file, **data})


def test_front_desk_may_neither_import_nor_read_the_history(staff_client, front_desk):
    desk = staff_client(front_desk)

    assert upload(desk, "members", csv_file(MEMBERS)).status_code == 403
    assert desk.get(URL).status_code == 403
    assert not Member.objects.exists()


def test_a_manager_imports_a_file_and_gets_the_report(managing, manager):
    response = upload(managing, "members", csv_file(MEMBERS, name="会员.csv", bom=True))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("kind", "file_name", "status", "rows", "imported", "skipped", "errors")} == {
        "kind": "members", "file_name": "会员.csv", "status": "completed", "rows": 2, "imported": 2,
        "skipped": 0, "errors": []}
    assert Member.objects.count() == 2
    history = managing.get(URL).json()
    assert [(run["id"], run["kind"], run["actor"], run["error_count"]) for run in history] == [
        (body["run_id"], "members", manager.pk, 0)]


def test_a_file_with_errors_is_a_400_listing_each_row_and_nothing_is_imported(managing):
    response = upload(managing, "members", csv_file(MEMBERS + "王静,12345\n陈雪,\n"))

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "import_rejected"
    assert "2" in body["error"]["message"]
    assert [(error["line"], error["column"]) for error in body["report"]["errors"]] == [(4, "phone"), (5, "phone")]
    assert not Member.objects.exists()
    detail = managing.get(f"{URL}{body['report']['run_id']}/").json()
    assert (detail["status"], [error["line"] for error in detail["errors"]]) == ("rejected", [4, 5])


def test_skip_errors_imports_the_rest(managing):
    response = upload(managing, "members", csv_file(MEMBERS + "王静,12345\n"), skip_errors="true")

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["imported"], response.json()["skipped"]) == ("partial", 2, 1)


@pytest.mark.parametrize(("content", "needle"), [
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x00\x00", "CSV"),
    ("姓名,手机\n张小美,13812345678\n".encode("gb18030"), "UTF-8"),
])
def test_a_file_that_is_not_a_csv_is_a_clear_400(managing, content, needle):
    response = upload(managing, "balances", SimpleUploadedFile("积分.xlsx", content))

    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED


def test_a_wrong_header_is_a_400_naming_the_columns(managing):
    response = upload(managing, "visits", csv_file("姓名,手机\n张小美,13812345678\n"))

    assert response.status_code == 400
    errors = response.json()["report"]["errors"]
    assert {error["column"] for error in errors} >= {"姓名", "visited_at", "external_ref", "member_number"}
    assert "visited_at" in errors[0]["message"]


def test_missing_file_and_unknown_kind(managing):
    missing = managing.post(f"{URL}members/", {})
    assert missing.status_code == 400
    assert "file" in missing.json()["error"]["fields"]
    assert upload(managing, "coupons", csv_file(MEMBERS)).status_code == 404
    assert managing.get(f"{URL}999999/").status_code == 404


def test_the_sample_files_import_through_the_api_in_order(managing, categories, sample_time):
    for kind in ("members", "visits", "balances"):
        response = upload(managing, kind, sample_file(f"{kind}.csv"))
        assert response.status_code == 201, response.json()
        assert response.json()["errors"] == []
