"""Redis goes away: the web app (gunicorn, a real process) keeps answering, also requests that
queue a task after their commit, and a Celery worker picks work up again once Redis is back.
A redis-server of the test's own, on its own port, is stopped and started again."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.tasks import sessions_clear
from clinic_loyalty.celery import app as celery_app
from clinics.context import clinic_host
from clinics.models import Clinic
from conftest import _free_port, _test_database_url, until
from jobs.models import JobRun


def redis_start(port: int, directory: Path) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    until(answers, timeout=15)
    return server


def process_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def redis_loss_clinic(committed_clinic) -> Clinic:
    return committed_clinic("redisloss", "断网诊所")


@pytest.fixture
def redis_port(tmp_path) -> Iterator[tuple[int, list[subprocess.Popen]]]:
    """A redis-server of this test's own; the list holds the running one, to stop and replace."""
    port = _free_port()
    servers = [redis_start(port, tmp_path)]
    yield port, servers
    for server in servers:
        if server.poll() is None:
            process_stop(server)


def environment(redis_url: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test",
            "DATABASE_URL": _test_database_url(), "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
            "CELERY_BROKER_KEY_PREFIX": settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]}


@pytest.fixture
def web(redis_port) -> Iterator[int]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "clinic_loyalty.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60", "--log-level", "warning"],
        cwd=settings.BASE_DIR, env=environment(f"redis://127.0.0.1:{redis_port[0]}/0"))

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    try:
        until(answers, timeout=60)
        yield port
    finally:
        process_stop(server)


def api(port: int, host: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    client.request(method, path, json.dumps(body) if body is not None else None,
                   {"Host": host, "Authorization": f"Token {token}", "Content-Type": "application/json"})
    response = client.getresponse()
    response.read()
    client.close()
    return response.status, time.perf_counter() - started


def test_the_web_app_keeps_serving_while_redis_is_down(redis_loss_clinic, committed_db, redis_port, web):
    host = clinic_host(redis_loss_clinic)
    with tenant_context(redis_loss_clinic):
        token, _created = Token.objects.get_or_create(user=User.objects.get(username="owner"))
    assert api(web, host, token.key, "GET", "/api/v1/staff/")[0] == 200

    _port, servers = redis_port
    process_stop(servers[0])

    status, _seconds = api(web, host, token.key, "GET", "/api/v1/staff/")
    assert status == 200
    # Inviting a colleague queues the invitation email after the commit: the broker is gone, so
    # it is not sent, but the colleague is created and the answer comes in about a second.
    username = f"nurse{uuid.uuid4().hex[:6]}"
    status, seconds = api(web, host, token.key, "POST", "/api/v1/staff/",
                          {"username": username, "email": f"{username}@example.com", "full_name": "护士",
                           "role": "front_desk"})
    assert status == 201
    assert seconds < 10
    with tenant_context(redis_loss_clinic):
        assert User.objects.filter(username=username).exists()


def test_a_worker_picks_work_up_again_when_redis_returns(redis_loss_clinic, committed_db, redis_port, tmp_path):
    port, servers = redis_port
    url = f"redis://127.0.0.1:{port}/0"
    hostname = f"redisloss-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "clinic_loyalty", "worker", "--pool=solo", "--hostname",
             hostname, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=settings.BASE_DIR, env=environment(url), stdout=output, stderr=subprocess.STDOUT)
    try:
        until(lambda: "ready" in log.read_text(), timeout=60)
        process_stop(servers[0])
        time.sleep(3)  # the worker loses its connection and starts retrying
        assert worker.poll() is None, log.read_text()
        servers.append(redis_start(port, tmp_path))

        connection.set_schema_to_public()
        JobRun.objects.filter(clinic=redis_loss_clinic, job=sessions_clear.name).delete()
        with celery_app.connection_for_write(url) as broker, tenant_context(redis_loss_clinic):
            sessions_clear.apply_async(connection=broker)
        connection.set_schema_to_public()
        run = until(lambda: JobRun.objects.filter(clinic=redis_loss_clinic, job=sessions_clear.name)
                    .exclude(status=JobRun.Status.RUNNING).first(), timeout=90)
        assert run.status == JobRun.Status.SUCCEEDED, log.read_text()
    finally:
        process_stop(worker)
