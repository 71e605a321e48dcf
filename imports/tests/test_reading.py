from datetime import date, datetime
from decimal import Decimal

import pytest

from imports.reading import (
    CellError,
    Columns,
    FileRejected,
    bool_of,
    csv_read,
    date_of,
    local_datetime_of,
    money_of,
    whole_number_of,
)
from imports.tests.conftest import SHANGHAI

COLUMNS = Columns(required=("name",), optional=("notes",), any_of=(("member_number", "phone"),))


def rejected(content: bytes) -> list[tuple]:
    with pytest.raises(FileRejected) as exc:
        csv_read(content, columns=COLUMNS)
    return [tuple(error) for error in exc.value.errors]


def test_a_byte_order_mark_and_loose_header_spelling_are_accepted():
    rows = csv_read("\ufeffName, Member Number ,notes\r\n张小美,A1,\r\n".encode(), columns=COLUMNS)

    assert [row.cells for row in rows] == [{"name": "张小美", "member_number": "A1", "notes": ""}]


def test_rows_carry_the_line_they_start_on_counting_the_header_as_line_1():
    content = 'name,phone,notes\n张小美,138,"两行\n的备注"\n\n,,\n李娜,139,\n'.encode()

    rows = csv_read(content, columns=COLUMNS)

    assert [(row.line, row.cells["name"]) for row in rows] == [(2, "张小美"), (6, "李娜")]
    assert rows[0].cells["notes"] == "两行\n的备注"


def test_a_row_with_more_cells_than_columns_is_marked():
    rows = csv_read("name,phone\n张小美,138,多余\n李娜,139,\n".encode(), columns=COLUMNS)

    assert [row.extra_cells for row in rows] == [1, 0]


@pytest.mark.parametrize(("content", "message"), [
    ("name,phone\n张小美,138\n".encode("gbk"), "UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "not a CSV"),
    (b"   \n", "empty"),
    (b"name,phone\n", "no data rows"),
])
def test_a_file_that_is_not_utf8_csv_with_rows_is_rejected_as_a_whole(content, message):
    errors = rejected(content)

    assert len(errors) == 1
    assert errors[0][:2] == (None, "")
    assert message in errors[0][2]


def test_every_header_problem_is_reported_at_line_1():
    errors = rejected("nmae,notes,notes\n张小美,,\n".encode())

    assert [(line, column) for line, column, _message in errors] == [
        (1, "nmae"), (1, "notes"), (1, "name"), (1, "member_number")]
    assert "name, member_number, phone, notes" in errors[0][2]


def test_money_accepts_currency_signs_and_thousands_separators():
    assert money_of("¥1,280.5") == Decimal("1280.50")
    for bad, message in (("-1", "negative"), ("1.234", "two decimal"), ("abc", "not an amount"),
                         ("NaN", "not an amount"), ("99999999999", "too large")):
        with pytest.raises(CellError, match=message):
            money_of(bad)


def test_dates_times_and_yes_no():
    assert date_of("2024/3/5") == date(2024, 3, 5)
    with pytest.raises(CellError, match="YYYY-MM-DD"):
        date_of("2024-02-30")
    assert local_datetime_of("2024-03-05", SHANGHAI) == datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)
    assert local_datetime_of("2024-03-05 9:05", SHANGHAI) == datetime(2024, 3, 5, 9, 5, tzinfo=SHANGHAI)
    with pytest.raises(CellError, match="HH:MM"):
        local_datetime_of("2024-03-05 25:00", SHANGHAI)
    assert (bool_of("是"), bool_of("No"), bool_of("1")) == (True, False, True)
    with pytest.raises(CellError):
        bool_of("maybe")
    assert whole_number_of("2") == 2
    for bad in ("0", "1.5", "-2", "２"):
        with pytest.raises(CellError):
            whole_number_of(bad)
