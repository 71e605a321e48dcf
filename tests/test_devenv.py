"""The launcher of `make run` and `make test` (scripts/devenv.py): what it starts on a checkout that
has never run, and the Chromium it finds for the browser tests."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings


def _devenv():
    spec = importlib.util.spec_from_file_location("devenv", Path(settings.BASE_DIR) / "scripts" / "devenv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_starts_web_worker_and_beat_with_beats_schedule_folder_in_place(tmp_path, monkeypatch):
    # given a fresh checkout: no .local folder (PostgreSQL and Redis were already running, so no
    # embedded server created it)
    devenv = _devenv()
    local = tmp_path / ".local"
    monkeypatch.setattr(devenv, "LOCAL", local)
    monkeypatch.setattr(devenv, "call", lambda command, env: 0)
    started = {}

    def run_together(commands, env):
        started.update(commands)
        started["schedule folder exists"] = local.is_dir()
        return 0

    monkeypatch.setattr(devenv, "run_together", run_together)

    # when `make run` starts the processes
    assert devenv.command_run({}, []) == 0

    # then web, worker and beat start, and beat's schedule file has a folder to live in
    assert {"web", "worker", "beat"} <= set(started)
    schedule = Path(started["beat"][started["beat"].index("--schedule") + 1])
    assert schedule.parent == local
    assert started["schedule folder exists"]


def _fake_browser(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'Chromium 1.0'\n")
    path.chmod(0o755)
    return path


def _playwright_chromium(browsers: Path, revision: int) -> Path:
    """A browser laid out as `python -m playwright install chromium` leaves it."""
    folder = browsers / f"chromium-{revision}"
    chrome = _fake_browser(folder / "chrome-linux64" / "chrome")
    (folder / "INSTALLATION_COMPLETE").touch()
    return chrome


def _find_chromium(places: Path, **env) -> subprocess.CompletedProcess:
    """`scripts/devenv.py chromium` on a machine whose PATH, CHROMIUM_PATH, home and Playwright
    folder hold nothing but what the test puts there, with the installing switched off."""
    empty = places / "empty"
    empty.mkdir(exist_ok=True)
    env = {"PATH": str(empty), "CHROMIUM_PATH": str(empty), "HOME": str(places / "home"),
           "PLAYWRIGHT_BROWSERS_PATH": str(empty), "CL_NO_CHROMIUM_INSTALL": "1", **env}
    return subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "scripts" / "devenv.py"), "chromium"],  # noqa: S603
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_no_chromium_anywhere_stops_at_once_saying_what_to_install(tmp_path):
    # given a machine with no Chromium at CHROMIUM_PATH, in Playwright's folder or on PATH, and
    # the installing switched off
    # when the finder looks
    started = time.monotonic()
    result = _find_chromium(tmp_path)

    # then it fails within seconds, saying what is missing, how to install it on Debian/Ubuntu
    # and macOS, and how to run everything else meanwhile
    assert time.monotonic() - started < 10
    assert result.returncode != 0
    assert "no Chromium for the browser tests" in result.stderr
    assert "sudo apt-get install chromium fonts-wqy-microhei" in result.stderr
    assert "macOS:" in result.stderr
    assert "python -m playwright install chromium" in result.stderr
    assert "make test ARGS=\"-m 'not browser'\"" in result.stderr
    assert "installing is switched off" in result.stdout


def test_chromium_is_found_at_chromium_path(tmp_path):
    browser = _fake_browser(tmp_path / "somewhere" / "my-chromium")

    result = _find_chromium(tmp_path, CHROMIUM_PATH=str(browser))

    assert result.returncode == 0, result.stderr
    assert f"chromium  {browser}  (CHROMIUM_PATH)" in result.stdout


def test_chromium_is_found_in_playwright_browsers_path_newest_complete_revision(tmp_path):
    browsers = tmp_path / "pw-browsers"
    _playwright_chromium(browsers, 1100)
    newest = _playwright_chromium(browsers, 1255)
    _fake_browser(browsers / "chromium-1300" / "chrome-linux64" / "chrome")  # download not complete

    result = _find_chromium(tmp_path, PLAYWRIGHT_BROWSERS_PATH=str(browsers))

    assert result.returncode == 0, result.stderr
    assert f"chromium  {newest}  (Playwright's browsers in {browsers})" in result.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="the default folder is the one of Linux")
def test_chromium_is_found_in_playwrights_default_cache_folder(tmp_path):
    home = tmp_path / "home"
    chrome = _playwright_chromium(home / ".cache" / "ms-playwright", 1255)
    cache = tmp_path / "xdg-cache"
    xdg_chrome = _playwright_chromium(cache / "ms-playwright", 1255)

    found = _find_chromium(tmp_path, PLAYWRIGHT_BROWSERS_PATH="")
    found_xdg = _devenv().chromium_find({"HOME": str(home), "XDG_CACHE_HOME": str(cache), "PATH": ""})

    assert found.returncode == 0, found.stderr
    assert f"chromium  {chrome}  (Playwright's browsers in {home / '.cache' / 'ms-playwright'})" in found.stdout
    assert found_xdg[0] == xdg_chrome


def test_chromium_is_found_on_path(tmp_path):
    bin_dir = tmp_path / "bin"
    browser = _fake_browser(bin_dir / "chromium-browser")

    result = _find_chromium(tmp_path, PATH=f"{tmp_path / 'empty'}{os.pathsep}{bin_dir}")

    assert result.returncode == 0, result.stderr
    assert f"chromium  {browser}  (chromium-browser on PATH)" in result.stdout


def test_chromium_path_comes_before_playwright_which_comes_before_each_name_on_path(tmp_path):
    find = _devenv().chromium_find
    configured = _fake_browser(tmp_path / "configured" / "chrome")
    browsers = tmp_path / "pw-browsers"
    managed = _playwright_chromium(browsers, 1255)
    bin_dir = tmp_path / "bin"
    on_path = [_fake_browser(bin_dir / name) for name in ("chromium", "chromium-browser", "google-chrome")]
    env = {"CHROMIUM_PATH": str(configured), "PLAYWRIGHT_BROWSERS_PATH": str(browsers), "PATH": str(bin_dir)}

    found = [find(env)]
    configured.unlink()
    found.append(find(env))
    (browsers / "chromium-1255" / "INSTALLATION_COMPLETE").unlink()
    for browser in on_path:
        found.append(find(env))
        browser.unlink()

    assert [path for path, _ in found] == [configured, managed, *on_path]
    assert find(env) is None


def test_make_test_stops_before_ruff_and_pytest_without_a_chromium(tmp_path, monkeypatch):
    devenv = _devenv()
    called = []
    monkeypatch.setattr(devenv, "call", lambda command, env: called.append(command) or 0)
    env = {"PATH": str(tmp_path), "CHROMIUM_PATH": "", "HOME": str(tmp_path),
           "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path), "CL_NO_CHROMIUM_INSTALL": "1"}

    assert devenv.command_test(env, ["-q"]) == 1
    assert called == []


@pytest.mark.parametrize("args", [["-m", "not browser"], ["-m", "not browser and not slow", "-q"],
                                  ["members/tests", "-x"], ["tests/test_devenv.py::test_x"]])
def test_make_test_without_the_browser_tests_runs_without_a_chromium(tmp_path, monkeypatch, args):
    devenv = _devenv()
    called = []
    monkeypatch.setattr(devenv, "call", lambda command, env: called.append((command, env)) or 0)
    env = {"PATH": str(tmp_path), "CHROMIUM_PATH": "", "HOME": str(tmp_path),
           "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path), "CL_NO_CHROMIUM_INSTALL": "1"}

    assert devenv.command_test(env, args) == 0
    pytest_command, pytest_env = called[-1]
    assert pytest_command[-len(args):] == args
    assert not pytest_env.get("CHROMIUM_PATH")


@pytest.mark.parametrize("args", [[], ["-k", "members"], ["tests/browser", "-q"], ["tests"], ["."],
                                  ["-m", "browser"], ["tests/browser/test_login_browser.py::test_x"]])
def test_make_test_passes_the_chromium_found_to_pytest(tmp_path, monkeypatch, args):
    devenv = _devenv()
    called = []
    monkeypatch.setattr(devenv, "call", lambda command, env: called.append((command, env)) or 0)
    monkeypatch.chdir(settings.BASE_DIR)
    browser = _fake_browser(tmp_path / "bin" / "chromium")

    assert devenv.browser_tests_selected(args)
    assert devenv.command_test({"PATH": str(browser.parent), "CHROMIUM_PATH": "",
                                "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)}, args) == 0
    assert called[-1][1]["CHROMIUM_PATH"] == str(browser)
