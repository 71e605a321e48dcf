"""The translation catalogues in locale/: every string of the source translated into Simplified
Chinese, the shipped .mo files compiled from the .po files, and both languages reaching people
through pages, the language switch, the API and emails."""

import contextlib
import difflib
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from clinics.models import Clinic
from conftest import TEST_PASSWORD, client_for

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("zh_Hans", "en")
# Top-level entries of the project that are not source; everything else is linked into the copy.
NOT_SOURCE = {".git", ".venv", ".local", "locale", "staticfiles", "test-artifacts", "node_modules"}
PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdif]|\{[a-z_0-9]*\}")
CHINESE = re.compile(r"[\u3400-\u9fff]")


def catalogue(language: str, root: Path = LOCALE) -> Path:
    return root / language / "LC_MESSAGES" / "django.po"


def label(entry: polib.POEntry) -> str:
    context = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{context}{entry.msgid!r} ({', '.join(path for path, _line in entry.occurrences)})"


def translated(entry: polib.POEntry) -> bool:
    if "fuzzy" in entry.flags:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Path:
    """`make messages`' extraction run on a scratch copy of the project whose locale/ starts as
    the committed one: what the catalogues would be after extracting the source as it is now.
    The real locale/ is not touched."""
    root = tmp_path_factory.mktemp("project")
    for entry in Path(settings.BASE_DIR).iterdir():
        if entry.name not in NOT_SOURCE:
            (root / entry.name).symlink_to(entry)
    locale = root / "locale"
    for language in LANGUAGES:
        catalogue(language, locale).parent.mkdir(parents=True)
        catalogue(language, locale).write_bytes(catalogue(language).read_bytes())
    with contextlib.chdir(root), override_settings(LOCALE_PATHS=[locale]):
        call_command("makemessages", locale=list(LANGUAGES), symlinks=True, verbosity=0)
    return locale


# The catalogues against the source


def test_every_string_of_the_source_has_a_simplified_chinese_translation(refreshed):
    entries = polib.pofile(str(catalogue("zh_Hans", refreshed)))

    missing = [label(entry) for entry in entries if not translated(entry)]

    assert not missing, (f"{len(missing)} strings have no (or only a fuzzy) zh_Hans translation; run "
                         "`make messages`, translate them in locale/zh_Hans/LC_MESSAGES/django.po "
                         "(see docs/i18n.md):\n" + "\n".join(missing))
    assert len(entries) > 500


@pytest.mark.parametrize("language", LANGUAGES)
def test_make_messages_on_the_committed_catalogues_changes_nothing(refreshed, language):
    committed = catalogue(language).read_text(encoding="utf-8").splitlines()
    extracted = catalogue(language, refreshed).read_text(encoding="utf-8").splitlines()

    diff = list(difflib.unified_diff(committed, extracted, "committed", "after make messages", lineterm="", n=0))

    assert not diff, "Run `make messages` and commit locale/:\n" + "\n".join(diff[:60])


def test_translations_keep_the_placeholders_of_their_message():
    wrong = []
    for entry in polib.pofile(str(catalogue("zh_Hans"))):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]:
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{entry.msgid!r} → {text!r}")

    assert not wrong, "Translations whose placeholders differ from the message:\n" + "\n".join(wrong)


def test_the_chinese_catalogue_has_one_plural_form_and_a_usable_header():
    entries = polib.pofile(str(catalogue("zh_Hans")))

    assert not entries.metadata_is_fuzzy
    assert entries.metadata["Language"] == "zh_Hans"
    assert entries.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert entries.metadata["Content-Type"] == "text/plain; charset=UTF-8"


def test_an_english_clinic_gets_english_for_every_message_written_with_chinese_in_it():
    entries = polib.pofile(str(catalogue("en")))

    chinese = [entry for entry in entries if CHINESE.search(entry.msgid)]
    untranslated = [label(entry) for entry in chinese
                    if not translated(entry) or CHINESE.search(entry.msgstr)]

    assert chinese, "the source has a message with Chinese in it; this test guards its English"
    assert not untranslated, "Give these an English msgstr in locale/en:\n" + "\n".join(untranslated)
    with translation.override("en"):
        assert translation.gettext("Expire at the end of a year (积分清零)") == "Expire at the end of each year"


def _mo_content(path: Path) -> dict:
    mo = polib.mofile(str(path))
    messages = {(entry.msgctxt, entry.msgid, entry.msgid_plural):
                (entry.msgstr, tuple(sorted(entry.msgstr_plural.items()))) for entry in mo}
    return {"metadata": mo.metadata, "messages": messages}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_mo_file_is_compiled_from_the_committed_po_file(language, tmp_path):
    fresh = tmp_path / "django.mo"

    # The same call as compilemessages makes.
    subprocess.run([shutil.which("msgfmt"), "--check-format", "-o", str(fresh),  # noqa: S603 - no shell
                    str(catalogue(language))], check=True)

    assert _mo_content(catalogue(language).with_suffix(".mo")) == _mo_content(fresh), (
        f"locale/{language}/LC_MESSAGES/django.mo is stale: run `make messages` and commit it")


# The languages in use


def test_a_chinese_clinic_page_is_in_chinese(clinic):
    html = client_for(clinic).get("/accounts/login/").content.decode()

    assert '<html lang="zh-hans">' in html
    assert "员工登录" in html and "忘记密码？" in html
    assert "Staff log in" not in html


def test_an_english_clinic_page_is_in_english(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(language=Clinic.Language.EN)

    html = client_for(clinic).get("/accounts/login/").content.decode()

    assert '<html lang="en">' in html
    assert "Staff log in" in html and "Forgot your password?" in html
    assert "员工登录" not in html


def test_the_language_switch_changes_the_language_of_the_next_pages(clinic, front_desk):
    client = client_for(clinic, front_desk)
    assert "今日" in client.get("/").content.decode()

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    home = client.get("/").content.decode()
    assert '<html lang="en">' in home and "Today" in home and "Log out" in home

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    assert "退出登录" in client.get("/").content.decode()


def test_the_language_switch_refuses_a_language_we_do_not_ship(clinic):
    client = client_for(clinic)

    client.post("/i18n/setlang/", {"language": "fr", "next": "/accounts/login/"})

    assert "员工登录" in client.get("/accounts/login/").content.decode()


def test_an_api_error_of_ours_comes_in_the_clinic_language_or_the_callers(clinic, owner):
    wrong = {"username": owner.username, "password": "not-" + TEST_PASSWORD}

    in_chinese = client_for(clinic).post("/api/v1/auth/token/", wrong, content_type="application/json")
    in_english = client_for(clinic).post("/api/v1/auth/token/", wrong, content_type="application/json",
                                         HTTP_ACCEPT_LANGUAGE="en")

    assert in_chinese.status_code == in_english.status_code == 401
    assert in_chinese.json()["error"]["message"] == "用户名或密码错误。"
    assert in_english.json()["error"]["message"] == "Username or password is wrong."


def test_a_service_rule_in_the_api_is_translated_for_a_chinese_clinic(clinic, owner):
    api = client_for(clinic, owner)

    response = api.patch(f"/api/v1/staff/{owner.pk}/", {"is_active": False}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "您不能停用自己的账号。"


def test_a_form_error_is_shown_next_to_its_field_in_chinese(clinic, owner):
    form = {"username": "xiaoli", "full_name": "李小丽", "email": owner.email, "role": "front_desk"}

    response = client_for(clinic, owner).post("/accounts/staff/invite/", form)

    assert response.status_code == 400
    assert '<p class="error" id="id_email-error">该邮箱地址已被其他员工账号使用。</p>' in response.content.decode()
