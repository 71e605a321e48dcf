"""Phone numbers and names in the forms the front desk searches by."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from clinics.context import clinic_country

DEFAULT_REGION = "CN"
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def phone_normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a phone number; mainland China is assumed when no country code is given."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(phone)s” is not a phone number."), params={"phone": raw},
                              code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(phone)s” is not a valid phone number."), params={"phone": raw},
                              code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str | None, country: str | None = None) -> str:
    """A stored (E.164) number as people read it: in the national format of the clinic's country
    (or `country`) for numbers of that country, in the international format for others.
    Storage and the API keep E.164."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    country = country or clinic_country()
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(number) == country
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def name_initials(name: str) -> str:
    """Initials as typed at a Chinese front desk: 张小美 → zxm, Anna Li → al, 王Anna → wa."""
    initials = []
    for part in lazy_pinyin(name, style=Style.FIRST_LETTER, errors=lambda chars: _LATIN_WORD.findall(chars)):
        if part and part[0].isalpha():
            initials.append(part[0].lower())
    return "".join(initials)


def name_pinyin(name: str) -> str:
    return " ".join(part.lower() for part in lazy_pinyin(name, errors=lambda chars: _LATIN_WORD.findall(chars)))


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
