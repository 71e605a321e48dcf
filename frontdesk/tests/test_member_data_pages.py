"""A member's data from the member page: the export (owners and managers), the erasure with its
confirmation (owners and managers), and the medical access log (practitioners and managers)."""

import json

import pytest
from django.urls import reverse
from django.utils import translation

from idempotency.forms import idempotency_key_new
from members.models import MedicalAccessLog, MedicalProfile, Member, MemberEvent
from members.services import medical_profile_update, member_erase
from points.models import Entry
from points.tests.factories import points_give


def in_page_language(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


def detail(member: Member) -> str:
    return reverse("frontdesk:member_detail", args=[member.pk])


def erase_post(member: Member, **fields) -> dict:
    return {"idempotency_key": idempotency_key_new(), "reason": "会员书面要求删除",
            "confirm_number": member.member_number, **fields}


# --- Export ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role_fixture", ["owner", "manager"])
def test_owners_and_managers_download_the_export_and_it_is_recorded(request, staff_client, member, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client = staff_client(user)
    url = reverse("frontdesk:member_export", args=[member.pk])
    # Given the member page links to the export
    assert url in client.get(detail(member)).content.decode()
    # When the export is downloaded
    response = client.post(url)
    # Then it is the member's data as a JSON file, recorded as an event with the actor
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="member-{member.member_number}-')
    data = json.loads(response.content)
    assert (data["member_number"], data["name"], data["phone"]) == (member.member_number, "张小美", "+8613812345678")
    event = member.events.get(kind=MemberEvent.Kind.EXPORTED)
    assert event.actor == user
    assert ("medical" in data) == user.has_perm("accounts.view_medical")


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_other_roles_get_no_export(request, staff_client, member, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("frontdesk:member_export", args=[member.pk])
    assert url not in client.get(detail(member)).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert not member.events.filter(kind=MemberEvent.Kind.EXPORTED).exists()


def test_a_manager_export_includes_the_medical_profile_and_logs_it(staff_client, manager, practitioner, member):
    medical_profile_update(member=member, actor=practitioner, allergies="青霉素")
    data = json.loads(staff_client(manager).post(reverse("frontdesk:member_export", args=[member.pk])).content)
    assert data["medical"]["allergies"] == "青霉素"
    assert MedicalAccessLog.objects.filter(member=member, staff=manager,
                                           action=MedicalAccessLog.Action.EXPORT).count() == 1


# --- Erasure --------------------------------------------------------------------------------

def test_the_erasure_page_says_what_is_removed_and_what_is_kept(staff_client, manager, member):
    client = staff_client(manager)
    url = reverse("frontdesk:member_erase", args=[member.pk])
    assert url in client.get(detail(member)).content.decode()
    html = client.get(url).content.decode()
    assert 'id="erase-removes"' in html and 'id="erase-keeps"' in html
    assert in_page_language("visits, payments and refunds") in html
    assert in_page_language("Erasing cannot be undone.") in html


def test_a_manager_erases_a_member_and_the_accounts_stay(staff_client, manager, practitioner, member):
    # Given a member with points and a medical profile
    points_give(member, 300)
    medical_profile_update(member=member, actor=practitioner, allergies="青霉素")
    entries = Entry.objects.filter(account__member=member).count()
    # When a manager erases them with a reason and the member number typed again
    response = staff_client(manager).post(reverse("frontdesk:member_erase", args=[member.pk]), erase_post(member))
    # Then the member page opens, the personal data is gone, the ledger stays
    assert response.status_code == 302 and response.url == detail(member)
    member.refresh_from_db()
    assert member.status == Member.Status.ERASED and member.phone is None
    assert "张小美" not in member.name
    assert not MedicalProfile.objects.filter(member=member).exists()
    assert Entry.objects.filter(account__member=member).count() == entries
    event = member.events.get(kind=MemberEvent.Kind.ERASED)
    assert event.actor == manager and event.detail["reason"] == "会员书面要求删除"


@pytest.mark.parametrize("fields, field", [({"confirm_number": "M999999"}, "confirm_number"),
                                           ({"reason": "   "}, "reason")])
def test_a_wrong_confirmation_or_no_reason_erases_nothing(staff_client, manager, member, fields, field):
    response = staff_client(manager).post(reverse("frontdesk:member_erase", args=[member.pk]),
                                          erase_post(member, **fields))
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in response.content.decode()
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE and member.name == "张小美"
    assert not member.events.filter(kind=MemberEvent.Kind.ERASED).exists()


def test_the_wrong_confirmation_is_explained_in_the_users_language(staff_client, manager, member):
    response = staff_client(manager).post(reverse("frontdesk:member_erase", args=[member.pk]),
                                          erase_post(member, confirm_number="nope"))
    with translation.override("zh-hans"):
        expected = translation.gettext("Type the member number %(number)s to confirm.") % {
            "number": member.member_number}
    assert expected in response.content.decode()


def test_an_erased_member_cannot_be_erased_twice(staff_client, manager, member):
    member_erase(member=member, actor=manager, reason="第一次")
    client = staff_client(manager)
    assert 'id="already-erased"' in client.get(reverse("frontdesk:member_erase", args=[member.pk])).content.decode()
    response = client.post(reverse("frontdesk:member_erase", args=[member.pk]), erase_post(member))
    assert response.status_code == 400
    assert member.events.filter(kind=MemberEvent.Kind.ERASED).count() == 1


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_other_roles_cannot_erase(request, staff_client, member, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("frontdesk:member_erase", args=[member.pk])
    assert url not in client.get(detail(member)).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, erase_post(member)).status_code == 403
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_a_double_submitted_erasure_is_done_once(staff_client, manager, member):
    client = staff_client(manager)
    data = erase_post(member)
    first = client.post(reverse("frontdesk:member_erase", args=[member.pk]), data)
    second = client.post(reverse("frontdesk:member_erase", args=[member.pk]), data)
    assert first.status_code == second.status_code == 302
    assert member.events.filter(kind=MemberEvent.Kind.ERASED).count() == 1


# --- Medical access log ---------------------------------------------------------------------

@pytest.mark.parametrize("role_fixture", ["practitioner", "manager"])
def test_the_medical_access_log_lists_who_read_and_changed(request, staff_client, practitioner, member,
                                                           role_fixture):
    # Given a practitioner changed and read the profile
    medical_profile_update(member=member, actor=practitioner, allergies="青霉素")
    client_p = staff_client(practitioner)
    client_p.get(reverse("frontdesk:member_medical", args=[member.pk]))
    # When a practitioner or manager opens the log from the member page
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("frontdesk:member_medical_log", args=[member.pk])
    assert url in client.get(detail(member)).content.decode()
    response = client.get(url)
    # Then both entries are listed, newest first, with the practitioner's name; opening the log
    # itself reads no medical notes and adds nothing
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index('data-action="read"') < html.index('data-action="update"')
    assert str(practitioner) in html
    assert MedicalAccessLog.objects.filter(member=member).count() == 2


@pytest.mark.parametrize("role_fixture", ["front_desk", "owner"])
def test_roles_that_cannot_see_medical_notes_cannot_see_the_log(request, staff_client, member, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("frontdesk:member_medical_log", args=[member.pk])
    assert url not in client.get(detail(member)).content.decode()
    assert client.get(url).status_code == 403
