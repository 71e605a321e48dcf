import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]{2,39}$")
RESERVED_SLUGS = frozenset({
    "www", "admin", "api", "public", "static", "media", "mail", "smtp", "ftp", "app", "apps",
    "platform", "console", "support", "help", "status", "health", "docs", "blog", "dev", "test",
    "staging", "demo0", "root", "system", "information_schema", "clinictemplate", "portal",
    "login", "auth", "account", "accounts", "assets", "cdn", "ws", "wss",
})


def validate_clinic_slug(value: str) -> None:
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            _("Use 3 to 40 lower-case letters and digits, starting with a letter."),
            code="invalid_slug")
    if value in RESERVED_SLUGS or value.startswith("pg"):
        raise ValidationError(_("“%(slug)s” is reserved; choose another name."),
                              params={"slug": value}, code="reserved_slug")
