"""Finding the members a visits or balances file names, by member number or phone, in one
query for the whole file."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from imports.reading import Columns, FileRejected, RowCells, RowError, csv_read
from members.models import Member
from members.naming import phone_normalize

MEMBER_COLUMNS = ("member_number", "phone")


@dataclass(frozen=True)
class MemberKey:
    number: str
    phone: str


@dataclass
class PhoneBook:
    """Phone numbers normalized once each, however many rows repeat them."""

    normalized: dict[str, str | ValidationError] = field(default_factory=dict)

    def normalize(self, raw: str) -> str:
        result = self.normalized.get(raw)
        if result is None:
            try:
                result = phone_normalize(raw)
            except ValidationError as exc:
                result = exc
            self.normalized[raw] = result
        if isinstance(result, ValidationError):
            raise result
        return result


def member_key_read(cells: RowCells, phones: PhoneBook) -> MemberKey | None:
    """The member number and normalized phone a row names; None (with an error) if neither."""
    number = cells.raw("member_number").upper()
    raw_phone = cells.raw("phone")
    phone = ""
    if raw_phone:
        try:
            phone = phones.normalize(raw_phone)
        except ValidationError as exc:
            cells.error("phone", exc.messages[0])
            return None
    if not number and not phone:
        cells.error("member_number", _("Give the member's number or phone."))
        return None
    return MemberKey(number, phone)


@dataclass(frozen=True)
class KnownMember:
    pk: int
    number: str
    name: str
    status: str
    merged_into_id: int | None


class MemberDirectory:
    """The members named by a file's rows, loaded in one query."""

    def __init__(self, keys: list[MemberKey]):
        numbers = {key.number for key in keys if key.number}
        phones = {key.phone for key in keys if key.phone}
        self.by_number: dict[str, KnownMember] = {}
        self.by_phone: dict[str, KnownMember] = {}
        if not numbers and not phones:
            return
        found = Member.objects.filter(Q(member_number__in=numbers) | Q(phone__in=phones)).values_list(
            "pk", "member_number", "name", "status", "merged_into_id", "phone")
        for pk, number, name, status, merged_into_id, phone in found:
            member = KnownMember(pk, number, name, status, merged_into_id)
            self.by_number[number] = member
            if phone:
                self.by_phone[phone] = member

    def resolve(self, key: MemberKey, cells: RowCells) -> int | None:
        """The id of the member a row names (the survivor, for a merged member), or None with
        an error on the row."""
        by_number = self.by_number.get(key.number) if key.number else None
        by_phone = self.by_phone.get(key.phone) if key.phone else None
        if key.number and by_number is None:
            cells.error("member_number", _("No member has the number %(number)s.") % {"number": key.number})
            return None
        if key.phone and by_phone is None:
            cells.error("phone", _("No member has this phone number."))
            return None
        if by_number and by_phone and by_number.pk != by_phone.pk:
            cells.error("phone", _("This phone number belongs to %(name)s (%(number)s), not to member "
                                   "%(given)s.") % {"name": by_phone.name, "number": by_phone.number,
                                                    "given": key.number})
            return None
        member = by_number or by_phone
        assert member is not None
        if member.status == Member.Status.ERASED:
            cells.error(_column(key), _("Member %(number)s has been erased; nothing can be imported for "
                                        "them.") % {"number": member.number})
            return None
        if member.status == Member.Status.MERGED and member.merged_into_id is not None:
            return member.merged_into_id
        return member.pk


def _column(key: MemberKey) -> str:
    return "member_number" if key.number else "phone"


LIST_COLUMNS = Columns(required=(), any_of=(MEMBER_COLUMNS,))


@dataclass
class MemberList:
    """The members a list file names, in the file's order, each once, and the errors of the
    lines that name no member (or one named before)."""

    member_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


def member_list_read(content: bytes) -> MemberList:
    """Read a CSV list of members (a `member_number` and/or `phone` column, as in the import
    files), for issuing coupons or messages to them."""
    result = MemberList()
    try:
        rows = csv_read(content, columns=LIST_COLUMNS)
    except FileRejected as exc:
        result.errors = exc.errors
        return result
    result.rows = len(rows)
    phones = PhoneBook()
    parsed = []
    for row in rows:
        cells = RowCells(row)
        parsed.append((cells, member_key_read(cells, phones)))
    directory = MemberDirectory([key for _cells, key in parsed if key is not None])
    seen: dict[int, int] = {}
    for cells, key in parsed:
        member_id = directory.resolve(key, cells) if key is not None and cells.ok else None
        if member_id is not None and member_id in seen:
            cells.error(_column(key), _("The same member as on line %(line)s.") % {"line": seen[member_id]})
        elif member_id is not None:
            seen[member_id] = cells.line
            result.member_ids.append(member_id)
        result.errors.extend(cells.errors)
    return result
