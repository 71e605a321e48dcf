import pytest

from members.selectors import member_search
from members.services import member_archive, member_register


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
    member_archive(member=members["赵敏"], actor=front_desk)
    assert names("zm") == []
    assert names("zm", include_inactive=True) == ["赵敏"]


def test_empty_or_unmatched_query_finds_nobody(members):
    assert names("  ") == []
    assert names("qqq") == []
