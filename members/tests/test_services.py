from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from members import services
from members.models import ConsentRecord, MedicalAccessLog, Member, MemberEvent
from members.selectors import (
    consent_current,
    consent_granted,
    medical_profile_read,
    member_export,
    member_has_allergies,
)
from members.services import (
    ConsentInput,
    DuplicateMemberError,
    consent_record,
    medical_profile_update,
    member_archive,
    member_erase,
    member_merge,
    member_register,
    member_update,
)


def register(name="张小美", phone="13812345678", actor=None, **kwargs) -> Member:
    return member_register(name=name, phone=phone, actor=actor, **kwargs)


def test_register_normalizes_phone_and_numbers_the_member(front_desk):
    member = register(phone="138 1234 5678", actor=front_desk, birthday=date(1990, 5, 17))

    assert member.phone == "+8613812345678"
    assert member.phone_last4 == "5678"
    assert member.member_number == f"M{member.pk:06d}"
    assert member.name_initials == "zxm"
    assert len(member.referral_code) == 6
    assert member.events.get().kind == MemberEvent.Kind.REGISTERED


def test_second_registration_with_same_phone_points_to_existing_member(front_desk):
    first = register(actor=front_desk)

    with pytest.raises(DuplicateMemberError) as exc:
        register(name="张小美二号", phone="+86 138-1234-5678", actor=front_desk)

    assert exc.value.existing == first
    assert first.member_number in exc.value.message_dict["phone"][0]
    assert Member.objects.count() == 1


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+86 123"])
def test_invalid_phone_is_refused(front_desk, phone):
    with pytest.raises(ValidationError):
        register(phone=phone, actor=front_desk)
    assert not Member.objects.exists()


def test_referral_code_links_referee_to_referrer(front_desk):
    referrer = register(actor=front_desk)

    referee = register(name="李娜", phone="13900001111", actor=front_desk,
                       referral_code=referrer.referral_code.lower())

    assert referee.referred_by == referrer
    assert referee.source == Member.Source.REFERRAL


def test_unknown_referral_code_is_refused(front_desk):
    with pytest.raises(ValidationError) as exc:
        register(actor=front_desk, referral_code="NOPE99")
    assert "referral_code" in exc.value.message_dict


def test_consent_state_is_the_latest_record_and_history_is_kept(front_desk):
    member = register(actor=front_desk, consents=[
        ConsentInput(purpose=ConsentRecord.Purpose.MARKETING_SMS, granted=True)])
    assert consent_granted(member=member, purpose=ConsentRecord.Purpose.MARKETING_SMS)

    consent_record(member=member, purpose=ConsentRecord.Purpose.MARKETING_SMS, granted=False,
                   channel=ConsentRecord.Channel.PORTAL, actor=None)

    assert not consent_granted(member=member, purpose=ConsentRecord.Purpose.MARKETING_SMS)
    assert consent_current(member=member)[ConsentRecord.Purpose.PHOTOS] is None
    assert member.consents.count() == 2


def test_medical_notes_are_ciphertext_in_the_database(practitioner, front_desk):
    member = register(actor=front_desk)
    medical_profile_update(member=member, actor=practitioner, allergies="青霉素过敏",
                           medical_notes="2025 年做过眼睑手术")

    with connection.cursor() as cursor:
        cursor.execute("SELECT allergies, medical_notes FROM members_medicalprofile")
        raw_allergies, raw_notes = cursor.fetchone()
    assert "青霉素" not in raw_allergies and raw_allergies.startswith("gAAAA")
    assert "眼睑" not in raw_notes
    assert member_has_allergies(member=member)


def test_medical_notes_only_for_practitioners_and_managers_and_every_read_logged(
        practitioner, manager, front_desk, owner):
    member = register(actor=front_desk)
    medical_profile_update(member=member, actor=manager, allergies="乳胶")

    assert medical_profile_read(member=member, actor=practitioner).allergies == "乳胶"
    for denied in (front_desk, owner):
        with pytest.raises(PermissionDenied):
            medical_profile_read(member=member, actor=denied)
        with pytest.raises(PermissionDenied):
            medical_profile_update(member=member, actor=denied, allergies="")
    reads = MedicalAccessLog.objects.filter(member=member, action=MedicalAccessLog.Action.READ)
    assert [log.staff for log in reads] == [practitioner]


def test_update_rechecks_phone_and_records_changed_fields(front_desk):
    member = register(actor=front_desk)
    other = register(name="王芳", phone="13900002222", actor=front_desk)

    with pytest.raises(DuplicateMemberError):
        member_update(member=other, actor=front_desk, phone="13812345678")
    member_update(member=member, actor=front_desk, name="张晓美", tags=["Skincare", "skincare "])

    member.refresh_from_db()
    assert member.name_initials == "zxm" and member.tags == ["skincare"]
    assert member.events.filter(kind=MemberEvent.Kind.UPDATED).get().detail == {"fields": ["name", "tags"]}


def test_merge_moves_consents_medical_and_referrals_to_survivor(front_desk, manager):
    survivor = register(actor=front_desk, birthday=None)
    duplicate = register(name="张小美", phone="13700003333", actor=front_desk,
                         birthday=date(1991, 2, 3), consents=[
                             ConsentInput(purpose=ConsentRecord.Purpose.PHOTOS, granted=True)])
    medical_profile_update(member=duplicate, actor=manager, allergies="花粉")
    referee = register(name="赵敏", phone="13600004444", actor=front_desk,
                       referral_code=duplicate.referral_code)

    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)

    duplicate.refresh_from_db()
    survivor.refresh_from_db()
    referee.refresh_from_db()
    assert duplicate.status == Member.Status.MERGED and duplicate.merged_into == survivor
    assert duplicate.phone is None
    assert survivor.birthday == date(1991, 2, 3)
    assert consent_granted(member=survivor, purpose=ConsentRecord.Purpose.PHOTOS)
    assert medical_profile_read(member=survivor, actor=manager).allergies == "花粉"
    assert referee.referred_by == survivor


def test_archived_member_cannot_be_edited(front_desk):
    member = register(actor=front_desk)
    member_archive(member=member, actor=front_desk, reason="moved away")
    with pytest.raises(ValidationError):
        member_update(member=member, actor=front_desk, name="X")


def test_export_has_personal_data_and_medical_only_for_allowed_roles(front_desk, manager):
    member = register(actor=front_desk, email="Mei@Example.com")
    medical_profile_update(member=member, actor=manager, allergies="花粉")

    assert "medical" not in member_export(member=member, actor=front_desk)
    data = member_export(member=member, actor=manager)
    assert data["email"] == "mei@example.com"
    assert data["medical"]["allergies"] == "花粉"


def test_erase_pseudonymizes_and_frees_the_phone(front_desk, manager):
    member = register(actor=front_desk, email="a@b.cn", birthday=date(1990, 1, 1))
    medical_profile_update(member=member, actor=manager, allergies="花粉")

    member_erase(member=member, actor=manager, reason="访问请求：删除")

    member.refresh_from_db()
    assert member.status == Member.Status.ERASED
    assert "张小美" not in member.name and member.phone is None and member.birthday is None
    assert not member_has_allergies(member=member)
    assert register(actor=front_desk).pk != member.pk


def test_a_number_taken_by_an_imported_member_gets_a_suffix(front_desk):
    first = register(actor=front_desk)
    taken = f"M{first.pk + 2:06d}"
    register(name="旧系统会员", phone="13500001111", actor=front_desk, member_number=taken)

    later = register(name="新会员", phone="13500002222", actor=front_desk)

    assert later.pk == first.pk + 2
    assert later.member_number == f"{taken}-2"


def test_consent_is_still_recorded_for_an_archived_member(front_desk, manager):
    # Given an archived member
    member = register(actor=front_desk)
    member_archive(member=member, actor=manager, reason="搬家")
    # When they withdraw their marketing consent
    consent_record(member=member, purpose=ConsentRecord.Purpose.MARKETING_SMS, granted=False,
                   channel=ConsentRecord.Channel.FRONT_DESK, actor=front_desk)
    # Then it is recorded
    assert consent_current(member=member)[ConsentRecord.Purpose.MARKETING_SMS].granted is False


def test_nothing_more_is_recorded_for_a_merged_or_erased_member(front_desk, manager):
    # Given a duplicate merged into its survivor and an erased member
    survivor = register(actor=front_desk)
    duplicate = register(name="张小美", phone="13700003333", actor=front_desk)
    member_merge(survivor=survivor, duplicate=duplicate, actor=manager)
    erased = register(name="李娜", phone="13900001111", actor=front_desk)
    member_erase(member=erased, actor=manager, reason="删除请求")
    for member in (Member.objects.get(pk=duplicate.pk), Member.objects.get(pk=erased.pk)):
        # When consent or medical notes are recorded for them
        with pytest.raises(ValidationError):
            consent_record(member=member, purpose=ConsentRecord.Purpose.PHOTOS, granted=True,
                           channel=ConsentRecord.Channel.FRONT_DESK, actor=front_desk)
        with pytest.raises(ValidationError):
            medical_profile_update(member=member, actor=manager, allergies="花粉")
        # Then nothing was written for them
        assert not ConsentRecord.objects.filter(member=member).exists()
        assert not MedicalAccessLog.objects.filter(member=member, action=MedicalAccessLog.Action.UPDATE).exists()


def test_a_phone_taken_between_the_check_and_the_save_is_refused_naming_the_member(front_desk, monkeypatch):
    # given two members, and checks that (as in a race with another desk, whose row is not yet
    # committed) see the phone still free: the service's own check the first time it is asked, and
    # the model's validation
    first = member_register(name="张小美", phone="13811112222", actor=front_desk)
    second = member_register(name="李四", phone="13833334444", actor=front_desk)
    real_check = services._check_phone_free
    calls = []

    def check_once_too_early(phone, *, exclude_pk=None):
        calls.append(phone)
        if len(calls) > 1:
            real_check(phone, exclude_pk=exclude_pk)

    monkeypatch.setattr(services, "_check_phone_free", check_once_too_early)
    monkeypatch.setattr(Member, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(Member, "validate_constraints", lambda self, exclude=None: None)

    # when the second member is given the first one's phone
    with pytest.raises(DuplicateMemberError) as refused:
        member_update(member=second, actor=front_desk, phone="13811112222")

    # then the unique phone refuses it, naming the member who has it, and nothing changed
    assert refused.value.existing == first
    assert Member.objects.get(pk=second.pk).phone == "+8613833334444"
