"""scripts/catalogue_merge.py, run as people run it: it fills the untranslated entries of a
catalogue from other .po files (or from git revisions), and touches nothing else."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "catalogue_merge.py"


def po_write(path: Path, entries: list[dict]) -> Path:
    catalogue = polib.POFile(wrapwidth=0)
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "zh_Hans",
                          "Plural-Forms": "nplurals=1; plural=0;"}
    for fields in entries:
        catalogue.append(polib.POEntry(**fields))
    catalogue.save(str(path))
    return path


def merge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args],  # noqa: S603 - our script, no shell
                          capture_output=True, text=True, cwd=cwd, check=False)


def translations(path: Path) -> dict:
    return {entry.msgid: (entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr,
                          "fuzzy" in entry.flags) for entry in polib.pofile(str(path))}


def test_empty_entries_are_filled_and_translated_ones_kept(tmp_path):
    target = po_write(tmp_path / "django.po", [
        {"msgid": "Points", "msgstr": "积分"},
        {"msgid": "Coupon", "msgstr": ""},
        {"msgid": "%(count)s point", "msgid_plural": "%(count)s points", "msgstr_plural": {0: ""}},
        {"msgid": "Tier", "msgstr": ""},
    ])
    source = po_write(tmp_path / "other.po", [
        {"msgid": "Points", "msgstr": "点数"},
        {"msgid": "Coupon", "msgstr": "优惠券"},
        {"msgid": "%(count)s point", "msgid_plural": "%(count)s points", "msgstr_plural": {0: "%(count)s 积分"}},
        {"msgid": "Member", "msgstr": "会员"},
    ])

    result = merge(str(source), "--into", str(target))

    assert result.returncode == 1, "“Tier” is still untranslated"
    assert translations(target) == {"Points": ("积分", False), "Coupon": ("优惠券", False),
                                    "%(count)s point": ("%(count)s 积分", False), "Tier": ("", False)}
    assert "filled: 2" in result.stdout and "still untranslated: 1" in result.stdout
    assert "Member" not in target.read_text(encoding="utf-8"), "a source adds no message"


def test_the_first_source_wins_and_the_conflict_is_reported(tmp_path):
    target = po_write(tmp_path / "django.po", [{"msgid": "Checkout", "msgstr": ""}])
    first = po_write(tmp_path / "a.po", [{"msgid": "Checkout", "msgstr": "收银"}])
    second = po_write(tmp_path / "b.po", [{"msgid": "Checkout", "msgstr": "结账"}])

    result = merge(str(first), str(second), "--into", str(target))

    assert result.returncode == 0
    assert translations(target) == {"Checkout": ("收银", False)}
    assert "conflicts: 1" in result.stdout and "结账" in result.stdout


def test_fuzzy_or_placeholder_breaking_translations_are_not_used(tmp_path):
    target = po_write(tmp_path / "django.po", [
        {"msgid": "Welcome, %(name)s.", "msgstr": ""},
        {"msgid": "Refund", "msgstr": ""},
    ])
    source = po_write(tmp_path / "other.po", [
        {"msgid": "Welcome, %(name)s.", "msgstr": "欢迎，%(nom)s。"},
        {"msgid": "Refund", "msgstr": "退货", "flags": ["fuzzy"]},
    ])

    result = merge(str(source), "--into", str(target))

    assert result.returncode == 1
    assert translations(target) == {"Welcome, %(name)s.": ("", False), "Refund": ("", False)}
    assert "refused: 1" in result.stdout and "still untranslated: 2" in result.stdout


def test_fuzzy_entries_of_the_target_are_replaced_only_when_asked(tmp_path):
    entries = [{"msgid": "Visits", "msgstr": "访问", "flags": ["fuzzy"]}]
    source = po_write(tmp_path / "other.po", [{"msgid": "Visits", "msgstr": "到店次数"}])
    kept = po_write(tmp_path / "kept.po", entries)
    replaced = po_write(tmp_path / "replaced.po", entries)

    merge(str(source), "--into", str(kept))
    merge(str(source), "--into", str(replaced), "--fuzzy")

    assert translations(kept) == {"Visits": ("访问", True)}
    assert translations(replaced) == {"Visits": ("到店次数", False)}


def test_a_dry_run_writes_nothing(tmp_path):
    target = po_write(tmp_path / "django.po", [{"msgid": "Coupon", "msgstr": ""}])
    before = target.read_bytes()
    source = po_write(tmp_path / "other.po", [{"msgid": "Coupon", "msgstr": "优惠券"}])

    result = merge(str(source), "--into", str(target), "--dry-run")

    assert "filled: 1" in result.stdout
    assert target.read_bytes() == before


def test_a_source_can_be_a_file_at_a_git_revision(tmp_path):
    repository = tmp_path / "repository"
    repository.mkdir()
    git = [shutil.which("git"), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    po_write(repository / "django.po", [{"msgid": "Tier", "msgstr": "等级"}])
    for command in (["init", "-q", "-b", "main"], ["add", "django.po"], ["commit", "-q", "-m", "translations"]):
        subprocess.run([*git, *command], cwd=repository, check=True)  # noqa: S603 - git, no shell
    (repository / "django.po").unlink()
    target = po_write(tmp_path / "django.po", [{"msgid": "Tier", "msgstr": ""}])

    result = merge("main:django.po", "--into", str(target), cwd=repository)

    assert result.returncode == 0, result.stdout + result.stderr
    assert translations(target) == {"Tier": ("等级", False)}


def test_an_unknown_source_is_a_clear_error(tmp_path):
    target = po_write(tmp_path / "django.po", [{"msgid": "Tier", "msgstr": ""}])

    result = merge(str(tmp_path / "nope.po"), "--into", str(target), cwd=tmp_path)

    assert result.returncode != 0
    assert "catalogue_merge: no file" in result.stderr
