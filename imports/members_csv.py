"""Members from another system's export. Rows are checked against the rules member_register
applies, then written in bulk. The registration steps (such as a sign-up bonus) are not run:
imported members are not new to the clinic."""

import json
import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from accounts.models import User
from imports.bulk import ids_allocate, rows_copy
from imports.member_lookup import KnownMember, MemberDirectory, MemberKey, PhoneBook
from imports.models import ImportRun
from imports.reading import (
    Columns,
    Row,
    RowCells,
    RowError,
    aliases_for,
    bool_of,
    choice_of,
    date_of,
    lines_text,
)
from members.models import ConsentRecord, Member, MemberEvent
from members.naming import name_initials, name_pinyin
from members.services import REFERRAL_ALPHABET
from points.rules import local_date

EARLIEST_BIRTHDAY = date(1900, 1, 1)
IMPORTED_POLICY_VERSION = "imported"
CONSENT_COLUMNS = {f"consent_{purpose}": purpose for purpose in ConsentRecord.Purpose.values}
COLUMNS = Columns(
    required=("name", "phone"),
    optional=("member_number", "gender", "birthday", "lunar_birthday", "email", "source", "tags", "notes",
              "joined_on", "referrer_member_number", *CONSENT_COLUMNS),
)
MEMBER_FIELDS = ("id", "member_number", "name", "name_initials", "name_pinyin", "name_tail", "phone",
                 "phone_last4", "gender", "birthday", "celebrates_lunar_birthday", "email", "source",
                 "referred_by", "referral_code", "tags", "notes", "status", "joined_on", "created_at",
                 "updated_at")
_TAG_SEPARATORS = re.compile(r"[;|；、]")


@dataclass
class _MemberRow:
    cells: RowCells
    member: Member
    number: str
    referrer_number: str
    consents: dict[str, bool]
    referrer_row: "_MemberRow | None" = None
    referrer_pk: int | None = None


def _tags_of(raw: str, cells: RowCells) -> list[str]:
    tags: dict[str, None] = {}
    for tag in _TAG_SEPARATORS.split(raw):
        tag = tag.strip().lower()
        if len(tag) > 40:
            cells.error("tags", _("Each tag can have at most 40 characters: “%(tag)s”.") % {"tag": tag})
        elif tag:
            tags.setdefault(tag)
    return list(tags)


def _email_of(raw: str, cells: RowCells) -> str:
    email = raw.lower()
    try:
        validate_email(email)
    except ValidationError:
        cells.error("email", _("“%(value)s” is not an email address.") % {"value": raw})
        return ""
    return email


def _parse(cells: RowCells, *, phones: PhoneBook, today: date,
           parsers: dict[str, Callable[[str], str]]) -> _MemberRow:
    name = cells.text("name", max_length=100, required=True)
    phone = ""
    if raw_phone := cells.raw("phone"):
        try:
            phone = phones.normalize(raw_phone)
        except ValidationError as exc:
            cells.error("phone", exc.messages[0])
    else:
        cells.error("phone", _("This is required."))
    birthday = cells.get("birthday", date_of)
    if birthday is not None and not EARLIEST_BIRTHDAY <= birthday <= today:
        cells.error("birthday", _("The birthday must be between 1900 and today."))
    joined_on = cells.get("joined_on", date_of) or today
    if joined_on > today:
        cells.error("joined_on", _("The joining date cannot be in the future."))
    referrer_number = cells.text("referrer_member_number", max_length=32).upper()
    source = cells.get("source", parsers["source"]) or (
        Member.Source.REFERRAL if referrer_number else Member.Source.IMPORT)
    raw_email = cells.text("email", max_length=254)
    member = Member(
        name=name, phone=phone or None, phone_last4=phone[-4:],
        name_initials=name_initials(name)[:100], name_pinyin=name_pinyin(name)[:300], name_tail=name[1:100],
        gender=cells.get("gender", parsers["gender"]) or Member.Gender.UNKNOWN, birthday=birthday,
        celebrates_lunar_birthday=bool(cells.get("lunar_birthday", bool_of)),
        email=_email_of(raw_email, cells) if raw_email else "",
        source=source, tags=_tags_of(cells.raw("tags"), cells), notes=cells.raw("notes"),
        status=Member.Status.ACTIVE, joined_on=joined_on)
    consents = {}
    for column, purpose in CONSENT_COLUMNS.items():
        granted = cells.get(column, bool_of)
        if granted is not None:
            consents[purpose] = granted
    return _MemberRow(cells=cells, member=member, number=cells.text("member_number", max_length=32).upper(),
                      referrer_number=referrer_number, consents=consents)


def _flag_repeats(rows: list[_MemberRow], column: str, value_of: Callable[[_MemberRow], str | None],
                  message: str) -> None:
    lines_by_value: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if value := value_of(row):
            lines_by_value[value].append(row.cells.line)
    for row in rows:
        lines = lines_by_value.get(value_of(row) or "", [])
        if len(lines) > 1:
            others = [line for line in lines if line != row.cells.line]
            row.cells.error(column, message % {"lines": lines_text(others)})


def _link_referrers(rows: list[_MemberRow], existing: dict[str, KnownMember]) -> None:
    in_file: dict[str, _MemberRow] = {}
    for row in rows:
        if row.number:
            in_file.setdefault(row.number, row)
    for row in rows:
        number = row.referrer_number
        if not number:
            continue
        if number == row.number:
            row.cells.error("referrer_member_number", _("A member cannot refer themselves."))
        elif number in in_file:
            row.referrer_row = in_file[number]
        elif number in existing and existing[number].status != Member.Status.ERASED:
            row.referrer_pk = existing[number].merged_into_id or existing[number].pk
        else:
            row.cells.error("referrer_member_number", _(
                "No member has the number %(number)s, in this file or in the clinic.") % {"number": number})
    changed = True
    while changed:
        changed = False
        for row in rows:
            if row.cells.ok and row.referrer_row is not None and not row.referrer_row.cells.ok:
                row.cells.error("referrer_member_number", _(
                    "The referrer on line %(line)s has errors, so this member cannot be imported either.")
                    % {"line": row.referrer_row.cells.line})
                changed = True


def _check(rows: list[_MemberRow]) -> None:
    _flag_repeats(rows, "phone", lambda row: row.member.phone,
                  _("The same phone number is also on line %(lines)s."))
    _flag_repeats(rows, "member_number", lambda row: row.number,
                  _("The same member number is also on line %(lines)s."))
    known = MemberDirectory([MemberKey(row.number, row.member.phone or "") for row in rows]
                            + [MemberKey(row.referrer_number, "") for row in rows if row.referrer_number])
    for row in rows:
        if (existing := known.by_phone.get(row.member.phone or "")) is not None:
            row.cells.error("phone", _("This phone number already belongs to member %(name)s (%(number)s).")
                            % {"name": existing.name, "number": existing.number})
        if (existing := known.by_number.get(row.number)) is not None:
            row.cells.error("member_number", _("Member number %(number)s is already used by %(name)s.")
                            % {"name": existing.name, "number": existing.number})
    _link_referrers(rows, known.by_number)


@dataclass
class MembersBatch:
    rows: list[_MemberRow]
    now: datetime
    already_imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        return sum(1 for row in self.rows if row.cells.ok)

    def write(self, *, run: ImportRun, actor: User | None) -> int:
        rows = [row for row in self.rows if row.cells.ok]
        pks = ids_allocate(Member, len(rows))
        numbers = _member_numbers(pks, given={row.number for row in self.rows if row.number})
        for row, pk, number, code in zip(rows, pks, numbers, _referral_codes(len(rows)), strict=True):
            row.member.pk = pk
            row.member.member_number = row.number or number
            row.member.referral_code = code
            row.member.created_at = row.member.updated_at = self.now
        for row in rows:
            row.member.referred_by_id = row.referrer_row.member.pk if row.referrer_row else row.referrer_pk
        attnames = [Member._meta.get_field(name).attname for name in MEMBER_FIELDS]
        rows_copy(Member, MEMBER_FIELDS,
                  ([getattr(row.member, attname) for attname in attnames] for row in rows))
        actor_id = actor.pk if actor else None
        rows_copy(MemberEvent, ("member", "kind", "actor", "detail", "created_at"),
                  ((row.member.pk, MemberEvent.Kind.REGISTERED, actor_id,
                    json.dumps({"source": row.member.source, "import_run": run.pk}), self.now)
                   for row in rows))
        rows_copy(ConsentRecord, ("member", "purpose", "granted", "channel", "policy_version", "recorded_at",
                                  "recorded_by"),
                  ((row.member.pk, purpose, granted, ConsentRecord.Channel.IMPORT, IMPORTED_POLICY_VERSION,
                    self.now, actor_id) for row in rows for purpose, granted in row.consents.items()))
        return len(rows)


def members_prepare(rows: list[Row], *, now: datetime) -> MembersBatch:
    today = local_date(now)
    parsers = {
        "gender": choice_of(aliases_for(Member.Gender.choices, female=("f", "女", "女性"),
                                        male=("m", "男", "男性"), other=("其他",), unknown=("未知",))),
        "source": choice_of(aliases_for(Member.Source.choices)),
    }
    phones = PhoneBook()
    parsed = [_parse(RowCells(row), phones=phones, today=today, parsers=parsers) for row in rows]
    _check(parsed)
    return MembersBatch(rows=parsed, now=now,
                        errors=[error for row in parsed for error in row.cells.errors])


def _member_numbers(pks: list[int], *, given: set[str]) -> list[str]:
    """M000123 from each new id, as member_register numbers members; a number an older system
    already used gets a suffix."""
    wanted = [f"M{pk:06d}" for pk in pks]
    taken = given | set(Member.objects.filter(member_number__in=wanted)
                        .values_list("member_number", flat=True))
    numbers = []
    for number in wanted:
        candidate, suffix = number, 1
        while candidate in taken:
            suffix += 1
            candidate = f"{number}-{suffix}"
        taken.add(candidate)
        numbers.append(candidate)
    return numbers


def _referral_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {"".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(6))
                 for _ in range(count - len(codes))} - codes
        codes |= fresh - set(Member.objects.filter(referral_code__in=fresh).values_list("referral_code",
                                                                                        flat=True))
    return list(codes)
