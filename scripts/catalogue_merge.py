"""Fill the untranslated entries of a catalogue with translations found in other .po files.

    python scripts/catalogue_merge.py SOURCE [SOURCE ...] [--into PATH] [--fuzzy] [--dry-run]

Each SOURCE is a .po file, or REV:PATH for a file as it is at revision REV (a branch, tag or
commit) of the git repository the script is run in, e.g.
`other-branch:locale/zh_Hans/LC_MESSAGES/django.po`. The target (by default
locale/zh_Hans/LC_MESSAGES/django.po) gets, for each of its entries that has no translation,
the translation of the same message (same msgctxt, msgid and msgid_plural) from the first
source that has one. A source translation is used only if it is not fuzzy, not obsolete, and
keeps the message's placeholders (%(name)s, %s, {name}). Entries already translated are never
changed; with --fuzzy, fuzzy entries of the target count as untranslated (and lose the flag
when filled). Obsolete (#~) entries of a source are used too, so an old catalogue can serve.

Run `make messages` first, so the target lists every message of the source code; run it again
afterwards to compile. The script prints what it filled, the conflicts (sources disagreeing on
a message; the first source wins) and the translations it refused, and exits with status 1 when
the target still has untranslated entries, so a merge that leaves work to do is noticed.
"""

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdif]|\{[a-z_0-9]*\}")

Key = tuple[str | None, str, str]
Translation = tuple[str, tuple[tuple[int, str], ...]]


@dataclass
class MergeReport:
    filled: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)


def entry_key(entry: polib.POEntry) -> Key:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or "")


def _translation(entry: polib.POEntry) -> Translation | None:
    if entry.msgid_plural:
        plurals = tuple(sorted(entry.msgstr_plural.items()))
        return ("", plurals) if plurals and all(text for _index, text in plurals) else None
    return (entry.msgstr, ()) if entry.msgstr else None


def _keeps_placeholders(entry: polib.POEntry, translation: Translation) -> bool:
    wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
    texts = [text for _index, text in translation[1]] or [translation[0]]
    return all(sorted(PLACEHOLDER.findall(text)) == wanted for text in texts)


def _describe(entry: polib.POEntry) -> str:
    return f"[{entry.msgctxt}] {entry.msgid!r}" if entry.msgctxt else repr(entry.msgid)


def source_read(spec: str) -> polib.POFile:
    """A .po file from disk, or REV:PATH from git."""
    if Path(spec).exists():
        return polib.pofile(spec)
    revision, separator, path = spec.partition(":")
    if not separator:
        raise SystemExit(f"catalogue_merge: no file {spec}")
    shown = subprocess.run(["git", "show", f"{revision}:{path}"],  # noqa: S603, S607 - git, no shell
                           capture_output=True, text=True, encoding="utf-8", check=False)
    if shown.returncode != 0:
        raise SystemExit(f"catalogue_merge: cannot read {spec}: {shown.stderr.strip()}")
    return polib.pofile(shown.stdout)


def catalogue_merge(*, target: polib.POFile, sources: list[polib.POFile], fuzzy: bool = False) -> MergeReport:
    """Fill `target` in place from `sources`; returns what was done."""
    report = MergeReport()
    known: dict[Key, Translation] = {}
    for source in sources:
        for entry in source:
            translation = _translation(entry)
            if "fuzzy" in entry.flags or translation is None:
                continue
            key = entry_key(entry)
            if key in known and known[key] != translation:
                report.conflicts.append(f"{_describe(entry)}: kept {known[key]!r}, not {translation!r}")
            known.setdefault(key, translation)

    for entry in target:
        if entry.obsolete:
            continue
        is_fuzzy = "fuzzy" in entry.flags
        if _translation(entry) is not None and not (fuzzy and is_fuzzy):
            continue
        translation = known.get(entry_key(entry))
        if translation is not None and not _keeps_placeholders(entry, translation):
            report.refused.append(f"{_describe(entry)}: {translation!r} changes the placeholders")
            translation = None
        if translation is None:
            if _translation(entry) is None or is_fuzzy:
                report.untranslated.append(_describe(entry))
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = dict(translation[1])
        else:
            entry.msgstr = translation[0]
        if is_fuzzy:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
        report.filled.append(_describe(entry))
    return report


def catalogue_save(catalogue: polib.POFile, path: Path) -> None:
    """Save, then lay the file out as `make messages` does, so the merge adds no noise to diffs."""
    catalogue.wrapwidth = 0
    catalogue.save(str(path))
    if shutil.which("msgcat"):
        subprocess.run(["msgcat", "--no-wrap", "--add-location=file",  # noqa: S603, S607 - no shell
                        "-o", str(path), str(path)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="a .po file, or REV:PATH in git")
    parser.add_argument("--into", type=Path, default=DEFAULT_TARGET, help="the catalogue to fill")
    parser.add_argument("--fuzzy", action="store_true", help="also replace fuzzy translations")
    parser.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    args = parser.parse_args(argv)

    target = polib.pofile(str(args.into))
    report = catalogue_merge(target=target, sources=[source_read(spec) for spec in args.sources],
                             fuzzy=args.fuzzy)
    for title, lines in (("filled", report.filled), ("conflicts", report.conflicts),
                         ("refused", report.refused), ("still untranslated", report.untranslated)):
        print(f"{title}: {len(lines)}")
        for line in lines:
            print(f"  {line}")
    if report.filled and not args.dry_run:
        catalogue_save(target, args.into)
    return 1 if report.untranslated else 0


if __name__ == "__main__":
    sys.exit(main())
