"""`make run`'s launcher (scripts/devenv.py): what it starts, on a checkout that has never run."""

import importlib.util
from pathlib import Path

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
