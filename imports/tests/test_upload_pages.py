"""The imports pages: upload, preview of the first rows, the import in a Celery task with its
progress polled, and the result with the errors row by row; owners and managers only. The
import is `csv_import`, the same as the API's and the command's."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from imports.models import ImportRun, ImportUpload
from imports.tests.conftest import csv_file, sample_file
from imports.uploads import import_upload_process
from members.models import Member


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def upload(client, kind: str, file) -> ImportUpload:
    response = client.post(reverse("manager:imports"), {"kind": kind, "file": file})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportUpload.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


def test_a_manager_uploads_previews_imports_and_reads_the_result(staff_client, manager, sample_time,
                                                                  django_capture_on_commit_callbacks):
    client = staff_client(manager)
    assert reverse("manager:imports") in client.get(reverse("manager:index")).content.decode()
    # Given an uploaded members file
    up = upload(client, "members", sample_file("members.csv"))
    page = client.get(reverse("manager:import_upload", args=[up.pk])).content.decode()
    # Then its first rows are shown and nothing is imported yet
    assert 'id="preview-rows"' in page and "张小美" in page and "A0002" in page
    assert up.preview["row_count"] == 5 and len(up.preview["rows"]) == 5 and not Member.objects.exists()
    # When the import is started (the task runs once the request commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("manager:import_upload", args=[up.pk]), {})
    assert response.status_code == 302
    # Then the members are in, the upload points at its run, and the file's content is gone
    up.refresh_from_db()
    run = ImportRun.objects.get()
    assert (up.status, up.run, bytes(up.content)) == (ImportUpload.Status.FINISHED, run, b"")
    assert (run.kind, run.rows, run.imported, run.actor) == ("members", 5, 5, manager)
    assert Member.objects.count() == 5
    page = client.get(reverse("manager:import_upload", args=[up.pk])).content.decode()
    assert 'id="import-result"' in page and 'id="result-imported">5<' in page
    # Starting it again does nothing
    client.post(reverse("manager:import_upload", args=[up.pk]), {})
    assert ImportRun.objects.count() == 1


def test_rows_with_errors_are_listed_and_nothing_is_imported(staff_client, manager,
                                                            django_capture_on_commit_callbacks):
    client = staff_client(manager)
    up = upload(client, "members", csv_file("name,phone\n张三,13900000001\n李四,12345\n王五,\n"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("manager:import_upload", args=[up.pk]), {})
    page = client.get(reverse("manager:import_upload", args=[up.pk])).content.decode()
    assert 'id="result-errors"' in page and "<td>3</td>" in page and "<td>4</td>" in page
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED
    assert not Member.objects.exists()


def test_skipping_errors_imports_the_valid_rows(staff_client, manager, django_capture_on_commit_callbacks):
    client = staff_client(manager)
    up = upload(client, "members", csv_file("name,phone\n张三,13900000001\n李四,12345\n"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("manager:import_upload", args=[up.pk]), {"skip_errors": "on"})
    assert ImportRun.objects.get().status == ImportRun.Status.PARTIAL
    assert list(Member.objects.values_list("name", flat=True)) == ["张三"]


def test_a_file_without_the_columns_is_explained_and_cannot_be_started(staff_client, manager):
    client = staff_client(manager)
    up = upload(client, "visits", csv_file("name\n张三\n"))
    page = client.get(reverse("manager:import_upload", args=[up.pk])).content.decode()
    assert 'id="file-errors"' in page and 'id="import-start"' not in page
    response = client.post(reverse("manager:import_upload", args=[up.pk]), {})
    assert response.status_code == 400
    assert zh("This file cannot be imported; upload a corrected one.") in response.content.decode()
    up.refresh_from_db()
    assert up.status == ImportUpload.Status.UPLOADED and not ImportRun.objects.exists()


def test_no_file_or_kind_is_a_form_error(staff_client, manager):
    response = staff_client(manager).post(reverse("manager:imports"), {"kind": "nonsense"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_kind-error"' in html and 'id="id_file-error"' in html
    assert not ImportUpload.objects.exists()


def test_the_progress_box_follows_the_stages(staff_client, manager, django_capture_on_commit_callbacks):
    client = staff_client(manager)
    up = upload(client, "members", csv_file("name,phone\n张三,13900000001\n"))
    # Started but not yet picked up by a worker
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("manager:import_upload", args=[up.pk]), {})
    fragment = client.get(reverse("manager:import_progress", args=[up.pk]))
    assert 'data-stage="queued"' in fragment.content.decode() and "hx-trigger" in fragment.content.decode()
    assert "HX-Refresh" not in fragment
    # The worker runs it
    import_upload_process(upload_id=up.pk)
    fragment = client.get(reverse("manager:import_progress", args=[up.pk]))
    assert 'data-stage="finished"' in fragment.content.decode() and fragment["HX-Refresh"] == "true"
    assert cache.get(f"import-upload-progress:{up.pk}")["stage"] == "finished"


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_other_roles_cannot_import(request, staff_client, manager, role_fixture):
    up = upload(staff_client(manager), "members", csv_file("name,phone\n张三,13900000001\n"))
    client = staff_client(request.getfixturevalue(role_fixture))
    assert client.get(reverse("manager:imports")).status_code == 403
    assert client.post(reverse("manager:imports"), {"kind": "members",
                                                    "file": csv_file("name,phone\n李四,13900000002\n")}
                       ).status_code == 403
    assert client.post(reverse("manager:import_upload", args=[up.pk]), {}).status_code == 403
    assert client.get(reverse("manager:import_progress", args=[up.pk])).status_code == 403
    up.refresh_from_db()
    assert up.status == ImportUpload.Status.UPLOADED and ImportUpload.objects.count() == 1
