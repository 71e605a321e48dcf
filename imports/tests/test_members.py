from datetime import date

import pytest

from imports.members_csv import _member_numbers
from imports.models import ImportRun
from imports.services import members_import
from imports.tests.conftest import SAMPLE_NOW, csv_file, sample_file
from members.models import ConsentRecord, Member, MemberEvent
from members.selectors import consent_current
from points.models import Entry
from points.rules import loyalty_settings_update

HEADER = "member_number,name,phone,gender,birthday,email,tags,referrer_member_number\n"


def members(text: str, actor, **kwargs):
    return members_import(file=csv_file(HEADER + text, name="members.csv"), actor=actor, **kwargs)


def test_the_sample_file_imports_every_member_with_normalized_fields(manager, sample_time):
    report = members_import(file=sample_file("members.csv"), actor=manager)

    assert (report.status, report.rows, report.imported, report.created, report.errors) == (
        ImportRun.Status.COMPLETED, 5, 5, 5, [])
    first = Member.objects.get(member_number="A0001")
    assert (first.name, first.phone, first.phone_last4, first.gender, first.birthday) == (
        "张小美", "+8613812340001", "0001", Member.Gender.FEMALE, date(1990, 5, 17))
    assert (first.name_initials, first.email, first.tags, first.source, first.joined_on) == (
        "zxm", "xiaomei.zhang@example.com", ["玻尿酸", "补水"], Member.Source.DIANPING, date(2021, 3, 8))
    assert len(first.referral_code) == 6
    li_na = Member.objects.get(member_number="A0002")
    assert (li_na.referred_by, li_na.source, li_na.celebrates_lunar_birthday) == (
        first, Member.Source.REFERRAL, True)
    wang = Member.objects.get(member_number="A0003")
    assert wang.phone == "+8613912340003"
    chen = Member.objects.get(phone="+8613612340004")
    assert chen.member_number == f"M{chen.pk:06d}"
    assert chen.referred_by == first
    liu = Member.objects.get(member_number="A0005")
    assert liu.tags == ["抗衰", "水光针"]
    assert liu.notes == "VIP，习惯周六上午到店\n偏好同一位医生"


def test_consents_are_recorded_as_given_through_the_import(manager, sample_time):
    members_import(file=sample_file("members.csv"), actor=manager)

    consents = consent_current(member=Member.objects.get(member_number="A0005"))
    sms, email = consents[ConsentRecord.Purpose.MARKETING_SMS], consents[ConsentRecord.Purpose.MARKETING_EMAIL]
    assert (sms.granted, email.granted) == (True, False)
    assert (sms.channel, sms.recorded_by, sms.recorded_at) == (ConsentRecord.Channel.IMPORT, manager, SAMPLE_NOW)
    assert consents[ConsentRecord.Purpose.PHOTOS] is None
    assert not ConsentRecord.objects.filter(member__member_number="A0002",
                                            purpose=ConsentRecord.Purpose.MARKETING_EMAIL).exists()


def test_each_member_has_a_registration_event_but_no_sign_up_bonus(manager):
    loyalty_settings_update(signup_bonus=100)

    report = members(",张小美,13812345678,,,,,\n", manager)

    event = MemberEvent.objects.get(member__phone="+8613812345678")
    assert (event.kind, event.actor, event.detail) == (
        MemberEvent.Kind.REGISTERED, manager, {"source": Member.Source.IMPORT, "import_run": report.run_id})
    assert not Entry.objects.exists()


def test_a_file_with_a_bad_row_imports_nothing_and_names_every_error_by_line_and_column(manager):
    report = members(
        "A1,张小美,13812345678,女,1990-05-17,,,\n"
        "A2,李娜,12345,unknown,1990-02-30,not-an-email,,\n"
        "A3,,13912345678,男,,,,\n"
        "A4,王静,13612345678,女,,,,A9\n", manager)

    assert report.status == ImportRun.Status.REJECTED
    assert report.imported == 0
    assert [(line, column) for line, column, _message in report.errors] == [
        (3, "phone"), (3, "birthday"), (3, "email"), (4, "name"), (5, "referrer_member_number")]
    assert "A9" in report.errors[-1].message
    assert not Member.objects.exists()
    run = ImportRun.objects.get(pk=report.run_id)
    assert (run.status, run.rows, run.actor, run.file_name) == (ImportRun.Status.REJECTED, 4, manager,
                                                                "members.csv")
    assert run.errors[0][:2] == [3, "phone"]
    assert len(run.sha256) == 64


def test_skip_mode_imports_the_valid_rows_and_reports_the_others(manager):
    report = members(
        "A1,张小美,13812345678,女,,,,\n"
        "A2,李娜,12345,,,,,\n"
        "A3,王静,13612345678,女,,,,A2\n"
        "A4,陈雪,13912345678,女,,,,A1\n", manager, skip_errors=True)

    assert (report.status, report.rows, report.imported, report.skipped) == (ImportRun.Status.PARTIAL, 4, 2, 2)
    assert [(line, column) for line, column, _message in report.errors] == [
        (3, "phone"), (4, "referrer_member_number")]
    assert "line 3" in report.errors[1].message
    assert set(Member.objects.values_list("member_number", flat=True)) == {"A1", "A4"}
    assert Member.objects.get(member_number="A4").referred_by.member_number == "A1"


def test_duplicates_in_the_file_and_in_the_clinic_are_errors_naming_the_other(manager, member):
    report = members(
        "A1,张小美,13812345678,,,,,\n"
        "A2,张小美,138-1234-5678,,,,,\n"
        "A1,李娜,13912345678,,,,,\n"
        "old-001,王静,13612345678,,,,,\n"
        "A5,周小燕,+86 137 0000 1111,,,,,\n", manager)

    messages = {(line, column): message for line, column, message in report.errors}
    assert set(messages) == {(2, "phone"), (3, "phone"), (2, "member_number"), (4, "member_number"),
                             (5, "member_number"), (6, "phone")}
    assert "line 3" in messages[2, "phone"] and "line 2" in messages[3, "phone"]
    assert "OLD-001" in messages[5, "member_number"]
    assert "周晓燕" in messages[6, "phone"] and "OLD-001" in messages[6, "phone"]
    assert Member.objects.count() == 1


def test_importing_the_same_file_again_creates_no_duplicates(manager):
    first = members("A1,张小美,13812345678,,,,,\n,李娜,13912345678,,,,,\n", manager)
    again = members("A1,张小美,13812345678,,,,,\n,李娜,13912345678,,,,,\n", manager, skip_errors=True)

    assert first.imported == 2
    assert (again.status, again.imported) == (ImportRun.Status.REJECTED, 0)
    assert all("already" in error.message for error in again.errors)
    assert Member.objects.count() == 2


def test_a_referrer_already_in_the_clinic_is_found_by_member_number(manager, member):
    members(",李娜,13912345678,,,,,old-001\n", manager)

    referee = Member.objects.get(phone="+8613912345678")
    assert (referee.referred_by, referee.source) == (member, Member.Source.REFERRAL)


@pytest.mark.parametrize(("text", "column"), [
    ("A1,张小美,13812345678,,2999-01-01,,,\n", "birthday"),
    ("A1,张小美,13812345678,,,,,A1\n", "referrer_member_number"),
    ("A1,张小美,13812345678,,,," + "很长的标签" * 9 + ",\n", "tags"),
    ("A1," + "名" * 101 + ",13812345678,,,,,\n", "name"),
    ("A1,张小美,13812345678,maybe,,,,\n", "gender"),
])
def test_values_the_member_record_would_refuse_are_row_errors(manager, text, column):
    report = members(text, manager)

    assert [(error.line, error.column) for error in report.errors] == [(2, column)]


def test_a_new_number_that_an_older_system_already_used_gets_a_suffix(member):
    assert _member_numbers([7, 8], given={"M000007"}) == ["M000007-2", "M000008"]
