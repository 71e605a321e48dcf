"""Reading an import file: UTF-8 CSV (with or without the byte-order mark Excel writes), a
header row of documented column names, and cell parsers whose errors say, in the user's
language, what is wrong and how to write it instead."""

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

T = TypeVar("T")

MAX_FILE_BYTES = 50 * 1024 * 1024
MONEY_LIMIT = Decimal("10000000000")
NOON = time(12, 0)

_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_MONEY_NOISE = re.compile(r"[\s,¥￥]")
_YES = {"yes", "y", "true", "1", "是", "同意"}
_NO = {"no", "n", "false", "0", "否", "不同意"}


class RowError(NamedTuple):
    """One problem: the 1-based line of the file (the header is line 1; None for the file as a
    whole), the column it is in ("" for the whole row) and what is wrong."""

    line: int | None
    column: str
    message: str


class FileRejected(Exception):
    """The file cannot be read as an import of this kind at all."""

    def __init__(self, errors: list[RowError]):
        super().__init__(errors)
        self.errors = errors


class CellError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Columns:
    """The documented columns of a kind: those the header must have, groups of which it must
    have at least one, and those it may have."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        grouped = tuple(name for group in self.any_of for name in group)
        return tuple(dict.fromkeys(self.required + grouped + self.optional))


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]
    extra_cells: int = 0


@dataclass
class RowCells:
    """The cells of one row, parsed one by one; a bad cell adds an error and gives None."""

    row: Row
    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.row.extra_cells:
            self.error("", _("This row has %(count)s more cells than the header has columns.")
                       % {"count": self.row.extra_cells})

    @property
    def line(self) -> int:
        return self.row.line

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row.line, column, message))

    def raw(self, column: str) -> str:
        return self.row.cells.get(column, "").strip()

    def get(self, column: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        raw = self.raw(column)
        if not raw:
            if required:
                self.error(column, _("This is required."))
            return None
        try:
            return parse(raw)
        except CellError as exc:
            self.error(column, exc.message)
            return None

    def text(self, column: str, *, max_length: int, required: bool = False) -> str:
        return self.get(column, lambda raw: text_of(raw, max_length), required=required) or ""


def _normalize_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _decode(content: bytes) -> str:
    if len(content) > MAX_FILE_BYTES:
        raise FileRejected([RowError(None, "", _("The file is larger than %(size)s MB; split it into "
                                                 "smaller files.") % {"size": MAX_FILE_BYTES // 2**20})])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRejected([RowError(None, "", _(
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (comma delimited)”."))]) from None
    if "\x00" in text:
        raise FileRejected([RowError(None, "", _("This is not a CSV text file."))])
    if not text.strip():
        raise FileRejected([RowError(None, "", _("The file is empty."))])
    return text


def _check_header(header: list[str], columns: Columns) -> None:
    errors = []
    seen: set[str] = set()
    for name in header:
        if not name:
            errors.append(RowError(1, "", _("A column has no name in the header row.")))
        elif name in seen:
            errors.append(RowError(1, name, _("This column appears more than once.")))
        elif name not in columns.all:
            errors.append(RowError(1, name, _("Unknown column. The columns of this kind of file are: "
                                              "%(columns)s.") % {"columns": ", ".join(columns.all)}))
        seen.add(name)
    for name in columns.required:
        if name not in seen:
            errors.append(RowError(1, name, _("The header has no “%(column)s” column.") % {"column": name}))
    for group in columns.any_of:
        if not seen.intersection(group):
            errors.append(RowError(1, group[0], _("The header needs at least one of these columns: "
                                                  "%(columns)s.") % {"columns": ", ".join(group)}))
    if errors:
        raise FileRejected(errors)


def csv_read(content: bytes, *, columns: Columns) -> list[Row]:
    """The data rows of a CSV file, each with the line it starts on. Blank rows are left out.
    Raises FileRejected when the file is not UTF-8 CSV text with a valid header."""
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    rows: list[Row] = []
    try:
        header = [_normalize_column(name) for name in next(reader)]
        _check_header(header, columns)
        width = len(header)
        line = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                extra = sum(1 for cell in record[width:] if cell.strip())
                rows.append(Row(line, dict(zip(header, record, strict=False)), extra))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileRejected([RowError(reader.line_num, "", _("This line cannot be read as CSV: %(error)s")
                                     % {"error": exc})]) from None
    if not rows:
        raise FileRejected([RowError(None, "", _("The file has a header row but no data rows."))])
    return rows


def text_of(raw: str, max_length: int) -> str:
    if len(raw) > max_length:
        raise CellError(_("At most %(max)s characters (this has %(length)s).")
                        % {"max": max_length, "length": len(raw)})
    return raw


def date_of(raw: str) -> date:
    match = _DATE.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise CellError(_("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": raw}) from None


def local_datetime_of(raw: str, zone: ZoneInfo) -> datetime:
    """YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] in the clinic's time zone; a date alone is taken as
    12:00 that day, so it stays on the same date in any report."""
    day_part, _sep, time_part = raw.replace("T", " ").partition(" ")
    try:
        day = date_of(day_part)
        at = NOON
        if time_part.strip():
            match = _TIME.fullmatch(time_part.strip())
            if match is None:
                raise ValueError(time_part)
            hour, minute, second = match.groups()
            at = time(int(hour), int(minute), int(second or 0))
    except (CellError, ValueError):
        raise CellError(_("“%(value)s” is not a date and time; write YYYY-MM-DD or YYYY-MM-DD HH:MM.")
                        % {"value": raw}) from None
    return datetime.combine(day, at, tzinfo=zone)


def bool_of(raw: str) -> bool:
    value = raw.lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise CellError(_("“%(value)s” is not yes or no.") % {"value": raw})


def money_of(raw: str) -> Decimal:
    try:
        amount = Decimal(_MONEY_NOISE.sub("", raw))
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not an amount of money.") % {"value": raw}) from None
    if not amount.is_finite():
        raise CellError(_("“%(value)s” is not an amount of money.") % {"value": raw})
    if amount < 0:
        raise CellError(_("An amount cannot be negative."))
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(_("Use at most two decimal places."))
    if amount >= MONEY_LIMIT:
        raise CellError(_("This amount is too large."))
    return amount.quantize(Decimal("0.01"))


def whole_number_of(raw: str, *, maximum: int = 2_147_483_647) -> int:
    value = raw.replace(",", "")
    if not value.isascii() or not value.isdigit():
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": raw})
    number = int(value)
    if number < 1:
        raise CellError(_("This must be at least 1."))
    if number > maximum:
        raise CellError(_("This number is too large."))
    return number


def choice_of(aliases: Mapping[str, str]) -> Callable[[str], str]:
    """A parser for a choice given by its value, its label or a common alias (case-insensitive)."""

    def parse(raw: str) -> str:
        value = aliases.get(raw.lower())
        if value is None:
            choices = ", ".join(dict.fromkeys(aliases.values()))
            raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": raw, "choices": choices})
        return value

    return parse


def aliases_for(choices: Iterable[tuple[str, object]], **extra: Iterable[str]) -> dict[str, str]:
    """Lower-cased value and label of each choice, plus the extra aliases given per value."""
    aliases: dict[str, str] = {}
    for value, label in choices:
        aliases[value.lower()] = value
        aliases.setdefault(str(label).lower(), value)
        for alias in extra.get(value, ()):
            aliases[alias.lower()] = value
    return aliases


def lines_text(lines: Iterable[int]) -> str:
    return ", ".join(str(line) for line in lines)
