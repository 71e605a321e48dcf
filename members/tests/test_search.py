import pytest

from members.selectors import member_merge_candidates, member_search
from members.services import member_archive, member_erase, member_merge, member_register


@pytest.fixture
def members(front_desk):
    people = [("张小美", "13812345678"), ("张晓明", "13900005678"), ("李娜", "13711112222"),
              ("Anna Li", "+85291234567"), ("赵敏", "13600009999")]
    return {name: member_register(name=name, phone=phone, actor=front_desk) for name, phone in people}


def names(query, **kwargs):
    return [m.name for m in member_search(query=query, **kwargs)]


def test_search_by_full_phone_in_any_format(members):
    assert names("138 1234 5678") == ["张小美"]
    assert names("+8613812345678") == ["张小美"]


def test_search_by_last_four_digits(members):
    assert sorted(names("5678")) == ["张小美", "张晓明"]


def test_search_by_pinyin_initials(members):
    assert names("zxm") == ["张小美", "张晓明"] or names("zxm") == ["张晓明", "张小美"]
    assert names("ZXM") == names("zxm")
    assert names("zm") == ["赵敏"]
    assert names("ln") == ["李娜"]


def test_search_by_name_part(members):
    assert names("小美") == ["张小美"]
    assert sorted(names("张")) == ["张小美", "张晓明"]
    assert names("anna") == ["Anna Li"]


def test_search_by_member_number(members):
    number = members["李娜"].member_number
    assert names(number) == ["李娜"]
    assert names(number.lower()) == ["李娜"]


def test_archived_members_are_found_only_on_request(members, front_desk):
    member_archive(member=members["赵敏"], actor=front_desk, reason="搬家")
    assert names("zm") == []
    assert names("zm", include_inactive=True) == ["赵敏"]


def test_empty_or_unmatched_query_finds_nobody(members):
    assert names("  ") == []
    assert names("qqq") == []


def test_merge_candidates_are_active_or_archived_members_other_than_the_survivor(members, front_desk, manager):
    # Given 张小美 as the survivor, 张晓明 archived, and two more 张 members: one merged, one erased
    survivor = members["张小美"]
    member_archive(member=members["张晓明"], actor=manager, reason="搬家")
    merged = member_register(name="张三", phone="13500001111", actor=front_desk)
    member_merge(survivor=members["李娜"], duplicate=merged, actor=manager)
    erased = member_register(name="张四", phone="13500002222", actor=front_desk)
    member_erase(member=erased, actor=manager, reason="删除请求")
    # When the duplicate is searched for by name, last four digits and number
    by_name = member_merge_candidates(survivor=survivor, query="张")
    by_digits = member_merge_candidates(survivor=survivor, query="5678")
    by_number = member_merge_candidates(survivor=survivor, query=survivor.member_number)
    # Then only the archived 张晓明 is offered: never the survivor, a merged or an erased member
    assert [m.name for m in by_name] == ["张晓明"]
    assert [m.name for m in by_digits] == ["张晓明"]
    assert by_number == [] and member_merge_candidates(survivor=survivor, query=" ") == []


def test_search_by_full_pinyin_with_or_without_spaces(members, front_desk):
    member_register(name="周美", phone="13500001234", actor=front_desk)

    assert names("zhoumei") == ["周美"]
    assert names("zhou mei") == ["周美"]
    assert names("ZhouMei") == ["周美"]
    assert names("zhangxiaomei") == ["张小美"]
    assert names("xiaomei") == ["张小美"]
    assert names("zhoumeix") == []


def test_phones_show_in_the_clinics_national_format(members, clinic):
    from members.naming import phone_display

    assert clinic.time_zone == "Asia/Shanghai"
    assert phone_display(members["张小美"].phone) == "138 1234 5678"
    assert phone_display(members["Anna Li"].phone) == "+852 9123 4567"
    assert phone_display(members["Anna Li"].phone, "HK") == "9123 4567"
    assert members["张小美"].phone == "+8613812345678"  # storage stays E.164
    clinic.time_zone = "Asia/Hong_Kong"
    try:
        assert phone_display(members["Anna Li"].phone) == "9123 4567"
        assert phone_display(members["张小美"].phone) == "+86 138 1234 5678"
    finally:
        clinic.time_zone = "Asia/Shanghai"
