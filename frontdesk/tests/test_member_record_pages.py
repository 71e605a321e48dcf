"""The member's record from the member page: editing the profile, recording consent, editing the
medical profile, and, for managers, archiving, restoring and merging a duplicate."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from checkout.services import LineInput, PaymentInput, checkout_complete
from idempotency.forms import idempotency_key_new
from members.models import MedicalAccessLog, MedicalProfile, Member, MemberEvent
from members.selectors import consent_current
from members.services import (
    ConsentInput,
    medical_profile_update,
    member_archive,
    member_erase,
    member_merge,
    member_register,
)
from points.selectors import points_balance
from points.tests.factories import points_give

PAGE_MAX_QUERIES = 10
MERGE_CONFIRM_MAX_QUERIES = 22


def in_page_language(text: str) -> str:
    """A message as the pages show it: in the clinic's language (the test clinic's is zh-Hans)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def detail(member: Member) -> str:
    return reverse("frontdesk:member_detail", args=[member.pk])


def edit_post(**fields) -> dict:
    data = {"idempotency_key": idempotency_key_new(), "name": "张晓美", "phone": "139 0000 2222",
            "gender": "female", "birthday": "1992-03-04", "celebrates_lunar_birthday": "on",
            "email": "Xiaomei@Example.com", "source": "xiaohongshu", "tags": "skincare, 抗衰",
            "notes": "喜欢下午来"}
    return {**data, **fields}


def consent_post(purpose: str, granted: bool, **fields) -> dict:
    return {"idempotency_key": idempotency_key_new(), "purpose": purpose, "granted": "1" if granted else "0",
            **fields}


def medical_post(**fields) -> dict:
    data = {"idempotency_key": idempotency_key_new(), "allergies": "青霉素过敏", "contraindications": "孕期",
            "medical_notes": "2025 年做过眼睑手术"}
    return {**data, **fields}


@pytest.fixture
def other(front_desk, rules) -> Member:
    return member_register(name="王芳", phone="13900003333", actor=front_desk)


# --- Edit profile ---------------------------------------------------------------------------

def test_the_edit_form_starts_from_the_current_profile(staff_client, front_desk, member,
                                                       django_assert_max_num_queries):
    # Given a member with interests
    member.tags = ["skincare", "laser"]
    member.save()
    # When the front desk opens the edit page from the member page
    client = staff_client(front_desk)
    assert reverse("frontdesk:member_edit", args=[member.pk]) in client.get(detail(member)).content.decode()
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        response = client.get(reverse("frontdesk:member_edit", args=[member.pk]))
    # Then the form holds the member's profile, the name focused
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="张小美"' in html and 'value="+8613812345678"' in html and "skincare, laser" in html
    assert 'name="name"' in html and "autofocus" in html


def test_front_desk_edits_the_profile(staff_client, front_desk, member):
    # When the front desk changes every field of the profile
    response = staff_client(front_desk).post(reverse("frontdesk:member_edit", args=[member.pk]), edit_post())
    # Then the member page opens, and the member has the new profile, found by the new name and phone
    assert response.status_code == 302 and response.url == detail(member)
    member.refresh_from_db()
    assert (member.name, member.phone, member.phone_last4, member.name_initials) == (
        "张晓美", "+8613900002222", "2222", "zxm")
    assert (member.gender, member.birthday, member.celebrates_lunar_birthday) == ("female", date(1992, 3, 4), True)
    assert (member.email, member.source, member.tags, member.notes) == (
        "xiaomei@example.com", "xiaohongshu", ["skincare", "抗衰"], "喜欢下午来")
    event = member.events.get(kind=MemberEvent.Kind.UPDATED)
    assert event.actor == front_desk and "phone" in event.detail["fields"]


@pytest.mark.parametrize("role_fixture", ["practitioner", "manager", "owner"])
def test_every_role_can_edit_a_profile(request, staff_client, member, role_fixture):
    user = request.getfixturevalue(role_fixture)
    response = staff_client(user).post(reverse("frontdesk:member_edit", args=[member.pk]),
                                       edit_post(name="张美美"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.name == "张美美"


def test_anonymous_visitors_are_sent_to_log_in_from_the_edit_page(anon_client, member):
    response = anon_client.post(reverse("frontdesk:member_edit", args=[member.pk]), edit_post())
    assert response.status_code == 302 and "/accounts/login/" in response.url
    member.refresh_from_db()
    assert member.name == "张小美"


def test_a_phone_another_member_has_is_refused_with_a_link_to_them(staff_client, front_desk, member, other):
    # When the front desk gives the member another member's phone
    response = staff_client(front_desk).post(reverse("frontdesk:member_edit", args=[member.pk]),
                                             edit_post(phone="139-0000-3333"))
    # Then the form is refused, the error is next to the phone, with a link to that member
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert 'id="id_phone-error"' in response.content.decode()
    assert detail(other) in response.content.decode()
    member.refresh_from_db()
    assert (member.name, member.phone) == ("张小美", "+8613812345678")


def test_the_phone_check_does_not_warn_about_the_members_own_number(staff_client, front_desk, member, other):
    client = staff_client(front_desk)
    own = client.get(reverse("frontdesk:phone_check"), {"phone": "13812345678", "member": member.pk})
    taken = client.get(reverse("frontdesk:phone_check"), {"phone": "13900003333", "member": member.pk})
    assert own.content.decode().strip() == ""
    assert detail(other) in taken.content.decode()


@pytest.mark.parametrize(("fields", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"name": ""}, "name"),
    ({"email": "not-an-email"}, "email"),
    ({"birthday": "1992-13-45"}, "birthday"),
    ({"gender": "robot"}, "gender"),
    ({"source": "import"}, "source"),
])
def test_bad_edit_input_is_shown_next_to_its_field_and_changes_nothing(staff_client, front_desk, member,
                                                                        fields, field):
    response = staff_client(front_desk).post(reverse("frontdesk:member_edit", args=[member.pk]),
                                             edit_post(**fields))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert f'id="id_{field}-error"' in response.content.decode()
    member.refresh_from_db()
    assert member.name == "张小美" and not member.events.filter(kind=MemberEvent.Kind.UPDATED).exists()


def test_a_referred_member_keeps_referral_as_their_source(staff_client, front_desk, member):
    # Given a member who came by referral
    referee = member_register(name="李娜", phone="13700004444", actor=front_desk, referral_code=member.referral_code)
    # When the front desk saves their profile without touching the source
    response = staff_client(front_desk).post(reverse("frontdesk:member_edit", args=[referee.pk]),
                                             edit_post(phone="13700004444", source="referral"))
    # Then it is saved and the source is still the referral
    assert response.status_code == 302
    referee.refresh_from_db()
    assert referee.source == Member.Source.REFERRAL and referee.referred_by == member


def test_an_archived_member_cannot_be_edited(staff_client, front_desk, manager, member):
    # Given an archived member
    member_archive(member=member, actor=manager, reason="搬家")
    client = staff_client(front_desk)
    # When the front desk opens and sends the edit form
    page = client.get(reverse("frontdesk:member_edit", args=[member.pk]))
    response = client.post(reverse("frontdesk:member_edit", args=[member.pk]), edit_post())
    # Then the page says why, above the form, and nothing changed
    assert 'id="inactive-warning"' in page.content.decode()
    assert response.status_code == 400
    assert in_page_language("Only an active member can be edited.") in response.content.decode()
    member.refresh_from_db()
    assert member.name == "张小美"


def test_a_double_submitted_edit_is_recorded_once(staff_client, front_desk, member):
    client = staff_client(front_desk)
    data = edit_post()
    first = client.post(reverse("frontdesk:member_edit", args=[member.pk]), data)
    second = client.post(reverse("frontdesk:member_edit", args=[member.pk]), data)
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert member.events.filter(kind=MemberEvent.Kind.UPDATED).count() == 1


# --- Consent --------------------------------------------------------------------------------

def test_the_member_page_shows_the_consent_state_of_every_purpose(staff_client, front_desk, rules):
    # Given a member registered with SMS marketing granted and photos refused
    member = member_register(name="李晓雯", phone="13900001111", actor=front_desk, consents=[
        ConsentInput(purpose="marketing_sms", granted=True), ConsentInput(purpose="photos", granted=False)])
    # When the front desk opens the member page
    response = staff_client(front_desk).get(detail(member))
    # Then each purpose shows its state, channel and policy version, with the matching button
    html = response.content.decode()
    assert 'data-purpose="marketing_sms" data-granted="yes"' in html
    assert 'data-purpose="photos" data-granted="no"' in html
    assert 'data-purpose="marketing_email" data-granted=""' in html
    assert in_page_language("At the front desk") in html and "2026-01" in html
    assert 'id="consent-withdraw-marketing_sms"' in html and 'id="consent-grant-photos"' in html


def test_front_desk_records_a_withdrawal_and_the_history_stays(staff_client, front_desk, rules):
    # Given a member who granted SMS marketing at registration
    member = member_register(name="李晓雯", phone="13900001111", actor=None,
                             consents=[ConsentInput(purpose="marketing_sms", granted=True)])
    # When the front desk records that they withdraw it
    response = staff_client(front_desk).post(reverse("frontdesk:member_consent", args=[member.pk]),
                                             consent_post("marketing_sms", False))
    # Then the member page opens at the consent card, the current state is withdrawn, recorded at
    # the front desk by this staff member, and the grant is still in the history
    assert response.status_code == 302 and response.url == detail(member) + "#member-consents"
    current = consent_current(member=member)["marketing_sms"]
    assert (current.granted, current.channel, current.recorded_by) == (False, "front_desk", front_desk)
    assert list(member.consents.filter(purpose="marketing_sms").order_by("id").values_list("granted", flat=True)) == [
        True, False]
    page = staff_client(front_desk).get(detail(member)).content.decode()
    assert 'data-purpose="marketing_sms" data-granted="no"' in page


def test_front_desk_records_a_grant(staff_client, front_desk, member):
    staff_client(front_desk).post(reverse("frontdesk:member_consent", args=[member.pk]),
                                  consent_post("photos", True))
    assert consent_current(member=member)["photos"].granted is True


@pytest.mark.parametrize("data", [
    {"purpose": "telepathy", "granted": "1"},
    {"purpose": "photos", "granted": "maybe"},
    {"purpose": "photos"},
])
def test_bad_consent_input_is_refused_and_records_nothing(staff_client, front_desk, member, data):
    response = staff_client(front_desk).post(reverse("frontdesk:member_consent", args=[member.pk]),
                                             {"idempotency_key": idempotency_key_new(), **data})
    assert response.status_code == 400
    assert 'id="consent-error"' in response.content.decode()
    assert not member.consents.exists()


def test_a_double_submitted_consent_is_recorded_once(staff_client, front_desk, member):
    client = staff_client(front_desk)
    data = consent_post("marketing_wechat", True)
    client.post(reverse("frontdesk:member_consent", args=[member.pk]), data)
    second = client.post(reverse("frontdesk:member_consent", args=[member.pk]), data)
    assert second.status_code == 302
    assert member.consents.filter(purpose="marketing_wechat").count() == 1


def test_an_archived_member_can_still_withdraw(staff_client, front_desk, manager, member):
    member_archive(member=member, actor=manager, reason="搬家")
    response = staff_client(front_desk).post(reverse("frontdesk:member_consent", args=[member.pk]),
                                             consent_post("marketing_sms", False))
    assert response.status_code == 302
    assert consent_current(member=member)["marketing_sms"].granted is False


def test_no_consent_is_recorded_for_an_erased_member(staff_client, front_desk, manager, member):
    # Given an erased member
    member_erase(member=member, actor=manager, reason="删除请求")
    # When someone sends a consent form for them (a page open from before the erasure)
    response = staff_client(front_desk).post(reverse("frontdesk:member_consent", args=[member.pk]),
                                             consent_post("photos", True))
    # Then the member page says why, and nothing is recorded
    assert response.status_code == 400
    assert 'id="consent-error"' in response.content.decode()
    assert not member.consents.exists()


# --- Medical profile ------------------------------------------------------------------------

def test_a_practitioner_edits_the_medical_profile_and_the_allergy_badge_follows(
        staff_client, front_desk, practitioner, member, django_assert_max_num_queries):
    client = staff_client(practitioner)
    url = reverse("frontdesk:member_medical_edit", args=[member.pk])
    # Given a member without allergies: no badge
    assert 'id="allergy-badge"' not in client.get(detail(member)).content.decode()
    assert url in client.get(detail(member)).content.decode()
    # When a practitioner opens the form and records an allergy
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        assert client.get(url).status_code == 200
    response = client.post(url, medical_post())
    # Then the member page carries the badge for every role, and the profile holds the details
    assert response.status_code == 302 and response.url == detail(member)
    assert 'id="allergy-badge"' in staff_client(front_desk).get(detail(member)).content.decode()
    profile = MedicalProfile.objects.get(member=member)
    assert (profile.allergies, profile.contraindications, profile.medical_notes, profile.updated_by) == (
        "青霉素过敏", "孕期", "2025 年做过眼睑手术", practitioner)
    # When the allergy is cleared, the badge goes
    client.post(url, medical_post(allergies=""))
    assert 'id="allergy-badge"' not in staff_client(front_desk).get(detail(member)).content.decode()


def test_opening_the_medical_form_is_a_logged_read_and_saving_a_logged_update(staff_client, manager, member):
    # Given a member with medical notes
    medical_profile_update(member=member, actor=manager, allergies="乳胶")
    MedicalAccessLog.objects.all().delete()
    client = staff_client(manager)
    url = reverse("frontdesk:member_medical_edit", args=[member.pk])
    # When a manager opens the form and saves it
    page = client.get(url)
    client.post(url, medical_post(allergies="乳胶\n花粉"))
    # Then the form showed the notes, and both the read and the update are logged with the manager
    assert "乳胶" in page.content.decode()
    assert list(MedicalAccessLog.objects.filter(member=member).order_by("id").values_list("action", "staff")) == [
        ("read", manager.pk), ("update", manager.pk)]


@pytest.mark.parametrize("role_fixture", ["front_desk", "owner"])
def test_roles_without_medical_access_get_403_and_no_edit_link(request, staff_client, member, role_fixture):
    # Given staff whose role may not read medical notes (front desk, and owners)
    client = staff_client(request.getfixturevalue(role_fixture))
    url = reverse("frontdesk:member_medical_edit", args=[member.pk])
    # Then the member page has no edit link, and the form answers 403 and saves nothing
    assert url not in client.get(detail(member)).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, medical_post()).status_code == 403
    assert not MedicalProfile.objects.filter(member=member).exists()
    assert not MedicalAccessLog.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in_from_the_medical_form(anon_client, member):
    response = anon_client.get(reverse("frontdesk:member_medical_edit", args=[member.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_too_long_medical_notes_are_refused_and_change_nothing(staff_client, practitioner, member):
    response = staff_client(practitioner).post(reverse("frontdesk:member_medical_edit", args=[member.pk]),
                                               medical_post(allergies="花" * 5000))
    assert response.status_code == 400
    assert 'id="id_allergies-error"' in response.content.decode()
    assert not MedicalProfile.objects.filter(member=member).exists()


def test_a_double_submitted_medical_update_is_logged_once(staff_client, practitioner, member):
    client = staff_client(practitioner)
    data = medical_post()
    url = reverse("frontdesk:member_medical_edit", args=[member.pk])
    client.post(url, data)
    assert client.post(url, data).status_code == 302
    assert MedicalAccessLog.objects.filter(member=member, action="update").count() == 1


# --- Archive and restore --------------------------------------------------------------------

def test_a_manager_archives_a_member_with_a_reason(staff_client, manager, member,
                                                   django_assert_max_num_queries):
    client = staff_client(manager)
    url = reverse("frontdesk:member_archive", args=[member.pk])
    # Given the member page shows the manager an archive button
    assert url in client.get(detail(member)).content.decode()
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        assert client.get(url).status_code == 200
    # When the manager archives the member, saying why
    response = client.post(url, {"idempotency_key": idempotency_key_new(), "reason": "已搬离本市"})
    # Then the member is archived with the reason and the actor, and the page offers a restore
    assert response.status_code == 302 and response.url == detail(member)
    member.refresh_from_db()
    assert member.status == Member.Status.ARCHIVED
    event = member.events.get(kind=MemberEvent.Kind.ARCHIVED)
    assert (event.actor, event.detail) == (manager, {"reason": "已搬离本市"})
    page = client.get(detail(member)).content.decode()
    assert 'id="member-restore"' in page and 'id="member-archive"' not in page and 'id="member-edit"' not in page


def test_archiving_needs_a_reason(staff_client, manager, member):
    response = staff_client(manager).post(reverse("frontdesk:member_archive", args=[member.pk]),
                                          {"idempotency_key": idempotency_key_new(), "reason": " "})
    assert response.status_code == 400
    assert 'id="id_reason-error"' in response.content.decode()
    member.refresh_from_db()
    assert member.is_active


def test_archiving_an_archived_member_says_why_not(staff_client, manager, member):
    member_archive(member=member, actor=manager, reason="搬家")
    response = staff_client(manager).post(reverse("frontdesk:member_archive", args=[member.pk]),
                                          {"idempotency_key": idempotency_key_new(), "reason": "再次"})
    assert response.status_code == 400
    assert in_page_language("Only an active member can be archived.") in response.content.decode()
    assert member.events.filter(kind=MemberEvent.Kind.ARCHIVED).count() == 1


def test_an_owner_restores_an_archived_member(staff_client, owner, manager, member):
    # Given an archived member
    member_archive(member=member, actor=manager, reason="搬家")
    # When an owner presses Restore on the member page
    response = staff_client(owner).post(reverse("frontdesk:member_restore", args=[member.pk]),
                                        {"idempotency_key": idempotency_key_new()})
    # Then the member is active again, with the restore in the history
    assert response.status_code == 302 and response.url == detail(member)
    member.refresh_from_db()
    assert member.is_active
    assert member.events.get(kind=MemberEvent.Kind.RESTORED).actor == owner


def test_restoring_an_active_member_is_a_page_message(staff_client, manager, member):
    response = staff_client(manager).post(reverse("frontdesk:member_restore", args=[member.pk]),
                                          {"idempotency_key": idempotency_key_new()})
    assert response.status_code == 400
    assert 'id="page-error"' in response.content.decode()
    assert in_page_language("Only an archived member can be restored.") in response.content.decode()
    assert not member.events.filter(kind=MemberEvent.Kind.RESTORED).exists()


@pytest.mark.parametrize("role_fixture", ["front_desk", "practitioner"])
def test_staff_who_do_not_manage_members_see_no_buttons_and_get_403(request, staff_client, manager, member,
                                                                     other, role_fixture):
    client = staff_client(request.getfixturevalue(role_fixture))
    # The member page has none of the manager's buttons
    page = client.get(detail(member)).content.decode()
    assert 'id="member-manage"' not in page and "/archive/" not in page and "/merge/" not in page
    # And every one of their addresses answers 403 and changes nothing
    key = {"idempotency_key": idempotency_key_new(), "reason": "x"}
    for method, name, args in [("get", "member_archive", [member.pk]), ("post", "member_archive", [member.pk]),
                               ("post", "member_restore", [member.pk]),
                               ("get", "member_merge_search", [member.pk]),
                               ("get", "member_merge", [member.pk, other.pk]),
                               ("post", "member_merge", [member.pk, other.pk])]:
        response = getattr(client, method)(reverse(f"frontdesk:{name}", args=args), key)
        assert response.status_code == 403, (method, name)
    member.refresh_from_db()
    other.refresh_from_db()
    assert member.is_active and other.is_active


def test_anonymous_visitors_are_sent_to_log_in_from_the_manager_pages(anon_client, member):
    for name in ("member_archive", "member_merge_search"):
        response = anon_client.get(reverse(f"frontdesk:{name}", args=[member.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response.url


# --- Merge ----------------------------------------------------------------------------------

@pytest.fixture
def duplicate(front_desk, rules, catalogue) -> Member:
    """The same person registered again under another phone, with a visit and points."""
    member = member_register(name="张小美", phone="13700005555", actor=front_desk, birthday=date(1990, 5, 17))
    checkout_complete(member=member, actor=front_desk, lines=[LineInput(item_id=catalogue["cream"].pk)],
                      payments=[PaymentInput(method="cash", amount=Decimal("500.00"))])
    return member


def test_a_manager_finds_the_duplicate_by_phone_name_or_number(staff_client, manager, member, duplicate,
                                                               django_assert_max_num_queries):
    client = staff_client(manager)
    url = reverse("frontdesk:member_merge_search", args=[member.pk])
    assert url in client.get(detail(member)).content.decode()
    for query in ("13700005555", "5555", "张小美", "zxm", duplicate.member_number):
        with django_assert_max_num_queries(PAGE_MAX_QUERIES):
            response = client.get(url, {"q": query})
        # Each finds the duplicate, never the member it would be merged into
        assert [m.pk for m in response.context["results"]] == [duplicate.pk], query
        assert reverse("frontdesk:member_merge", args=[member.pk, duplicate.pk]) in response.content.decode()
    assert client.get(url, {"q": "无此人"}).context["results"] == []
    # With many matches (an archived one among them) the page takes no more queries
    for n, phone in enumerate(["13600000001", "13600000002", "13600000003"]):
        found = member_register(name=f"张{n}号", phone=phone, actor=manager)
    member_archive(member=found, actor=manager, reason="重复")
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        response = client.get(url, {"q": "张"})
    assert len(response.context["results"]) == 4 and 'class="badge suspended"' in response.content.decode()


def test_the_confirmation_shows_both_members_key_figures(staff_client, manager, member, duplicate,
                                                         django_assert_max_num_queries):
    # Given a survivor with 120 points and no visit, and a duplicate with a ¥500 visit
    points_give(member, 120)
    client = staff_client(manager)
    # When the manager opens the confirmation
    with django_assert_max_num_queries(MERGE_CONFIRM_MAX_QUERIES):
        response = client.get(reverse("frontdesk:member_merge", args=[member.pk, duplicate.pk]))
    # Then it shows each one's points, visits, spend and tier
    assert response.status_code == 200
    survivor, dup = response.context["survivor"], response.context["duplicate"]
    assert (survivor.points.balance, survivor.visits, survivor.spend) == (120, 0, Decimal("0.00"))
    assert (dup.points.balance, dup.visits, dup.spend) == (500, 1, Decimal("500.00"))
    html = response.content.decode()
    assert member.member_number in html and duplicate.member_number in html and survivor.tier.name in html


def test_merging_moves_the_duplicate_into_the_survivor(staff_client, manager, member, duplicate):
    # Given a survivor with 120 points
    points_give(member, 120)
    client = staff_client(manager)
    # When the manager confirms the merge
    response = client.post(reverse("frontdesk:member_merge", args=[member.pk, duplicate.pk]),
                                          {"idempotency_key": idempotency_key_new()})
    # Then the survivor's page opens, saying so, and has the duplicate's points, visit and birthday
    assert response.status_code == 302 and response.url == detail(member)
    duplicate.refresh_from_db()
    member.refresh_from_db()
    assert duplicate.status == Member.Status.MERGED and duplicate.merged_into == member
    assert points_balance(member).balance == 620 and member.visits.count() == 1
    assert member.birthday == date(1990, 5, 17)
    page = client.get(response.url).content.decode()
    assert duplicate.member_number in page and 'class="message success"' in page


def test_a_double_submitted_merge_merges_once(staff_client, manager, member, duplicate):
    client = staff_client(manager)
    url = reverse("frontdesk:member_merge", args=[member.pk, duplicate.pk])
    data = {"idempotency_key": idempotency_key_new()}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert member.events.filter(kind=MemberEvent.Kind.MERGED).count() == 1


@pytest.mark.parametrize("case", ["self", "already_merged", "archived_survivor"])
def test_a_merge_the_service_refuses_is_shown_on_the_page(staff_client, manager, member, duplicate, other, case):
    survivor, dup = member, duplicate
    if case == "self":
        dup = member
    elif case == "already_merged":
        member_merge(survivor=other, duplicate=duplicate, actor=manager)
    else:
        member_archive(member=member, actor=manager, reason="搬家")
    response = staff_client(manager).post(reverse("frontdesk:member_merge", args=[survivor.pk, dup.pk]),
                                          {"idempotency_key": idempotency_key_new()})
    assert response.status_code == 400
    assert 'id="merge-errors"' in response.content.decode()
    assert not member.events.filter(kind=MemberEvent.Kind.MERGED).exists()


def test_the_member_page_shows_the_phone_in_national_format(staff_client, front_desk):
    from members.services import member_register

    member = member_register(name="周美", phone="13812349876", actor=front_desk)
    page = staff_client(front_desk).get(f"/members/{member.pk}/").content.decode()
    assert "138 1234 9876" in page and "+8613812349876" not in page.split("<body")[1].replace(
        'href="tel:+8613812349876"', "")
