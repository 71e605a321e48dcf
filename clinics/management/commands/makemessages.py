"""Django's makemessages with this project's defaults, so that every run extracts the same way:

- only our own source: the virtualenv, local data, collected static files, test artefacts and
  test code are never scanned;
- `--add-location=file`: each entry names the files it comes from, not their line numbers, so
  moving code does not rewrite the catalogues;
- `--no-wrap`: one line per message, whatever its length, for readable diffs and merges;
- `--no-obsolete`: strings no longer in the source leave the catalogue instead of piling up;
- a catalogue whose only change would be its POT-Creation-Date is left as it was, so a run
  with nothing new to extract changes no file.

Options given on the command line still win (e.g. `--add-location=full`)."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management.commands import makemessages

IGNORED = [".venv", ".local", "staticfiles", "test-artifacts", "tests", "bench", "docs"]
POT_CREATION_DATE = re.compile(r'^"POT-Creation-Date: [^"]*"$', re.MULTILINE)


def _without_creation_date(text: str) -> str:
    return POT_CREATION_DATE.sub("", text)


class Command(makemessages.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(ignore_patterns=list(IGNORED), add_location="file", no_wrap=True,
                            no_obsolete=True)

    def handle(self, *args, **options):
        before = {path: path.read_text(encoding="utf-8") for path in self._catalogues()}
        super().handle(*args, **options)
        for path, text in before.items():
            if path.exists() and _without_creation_date(path.read_text(encoding="utf-8")) == (
                    _without_creation_date(text)):
                path.write_text(text, encoding="utf-8")

    def _catalogues(self) -> list[Path]:
        roots = [Path(path) for path in settings.LOCALE_PATHS] + [Path("locale")]
        return sorted({path.resolve() for root in roots for path in root.glob("*/LC_MESSAGES/*.po")})
