"""Checkout through the API under load: 8 concurrent clients posting checkouts (with points
earned, tier checks and an Idempotency-Key each) to gunicorn serving the real app; then the same
paying with stored value (each member's card topped up beforehand, the payment split between
paid-in balance and bonus).

The clinic has a year behind it (HISTORY_MEMBERS other members with three visits each, their
points and the rollups), its tables analysed, as any clinic that checks out 100 visits a second
has. In a clinic opened a minute before, the plans each connection keeps were made on tables of a
few rows and read whole tables once they had grown, so the second run measured the clinic's
growth within the bench more than the checkout (docs/operations.md, "Benchmarks": "The
benchmark's clinic has a history")."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from statistics import quantiles

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework.authtoken.models import Token

from accounts.models import User
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill, visits_history
from bench.figures import Figure
from clinics.context import clinic_host
from members.models import Member
from points.ledger import OpeningLot, Source, ledger_open_many
from points.models import Asset, Entry
from visits.services import catalogue_item_create, category_create

CLIENTS = 8
REQUESTS_PER_CLIENT = 150
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
WARMUP_PER_CLIENT = 10
HISTORY_MEMBERS = 20_000
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server(port: int) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_loyalty.settings.test", "DB_CONN_MAX_AGE": "600",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "clinic_loyalty.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--log-level", "warning"], cwd=ROOT, env=env)
    for _attempt in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _client(port: int, host: str, token: str, bodies: list[dict], latencies: list[float], errors: list[str]):
    for body in bodies:
        payload = json.dumps(body)
        headers = {"Host": host, "Authorization": f"Token {token}", "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/v1/visits/", payload, headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 201:
            errors.append(str(response.status))


def _clients_run(port: int, host: str, token: str, bodies: list[dict], latencies: list[float],
                 errors: list[str]) -> float:
    """The bodies posted by CLIENTS concurrent clients; returns the seconds it took."""
    threads = [threading.Thread(target=_client, args=(port, host, token, bodies[n::CLIENTS], latencies, errors))
               for n in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> list[Figure]:
    clinic = fresh_clinic("benchcheckout")
    port = _free_port()
    server = None
    try:
        per_run = CLIENTS * (REQUESTS_PER_CLIENT + WARMUP_PER_CLIENT)
        members_fill(clinic, 2 * per_run + HISTORY_MEMBERS)
        with schema_context(clinic.schema_name):
            category = category_create(name="护肤", code="skincare")
            item = catalogue_item_create(kind="product", name="修护面霜", sku="CR-1", category=category,
                                         price=Decimal("500.00"))
            token = Token.objects.create(user=User.objects.get(username="owner")).key
            all_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
            member_ids, card_ids = all_ids[:per_run], all_ids[per_run:2 * per_run]
            now = timezone.now()
            with transaction.atomic():
                ledger_open_many(lots=[lot for pk in card_ids for lot in (
                    OpeningLot(pk, Asset.STORED_VALUE_PRINCIPAL, 500_000, now, None, "", f"bench:p:{pk}"),
                    OpeningLot(pk, Asset.STORED_VALUE_BONUS, 50_000, now, None, "", f"bench:b:{pk}"))],
                    kind=Entry.Kind.TOPUP, source=Source("bench"), actor=None, at=now)
        visits_history(clinic, all_ids[2 * per_run:], visits_each=3, item_id=item.pk)
        server = _server(port)
        bodies = [{"member_id": member_id, "lines": [{"item_id": item.pk, "quantity": 1}],
                   "payments": [{"method": "wechat_pay", "amount": "500.00"}]} for member_id in member_ids]
        warmup, bodies = bodies[:CLIENTS * WARMUP_PER_CLIENT], bodies[CLIENTS * WARMUP_PER_CLIENT:]
        latencies: list[float] = []
        errors: list[str] = []
        # Each worker loads its translations, URL patterns and connection on its first requests.
        _clients_run(port, clinic_host(clinic), token, warmup, [], errors)
        elapsed = _clients_run(port, clinic_host(clinic), token, bodies, latencies, errors)
        card_bodies = [{"member_id": member_id, "lines": [{"item_id": item.pk, "quantity": 1}],
                        "payments": [{"method": "stored_value", "amount": "500.00"}]} for member_id in card_ids]
        card_warmup, card_bodies = card_bodies[:CLIENTS * WARMUP_PER_CLIENT], card_bodies[CLIENTS * WARMUP_PER_CLIENT:]
        card_latencies: list[float] = []
        card_errors: list[str] = []
        _clients_run(port, clinic_host(clinic), token, card_warmup, [], card_errors)
        card_elapsed = _clients_run(port, clinic_host(clinic), token, card_bodies, card_latencies, card_errors)
        card_rate = len(card_latencies) / card_elapsed
        return [
            Figure(f"checkout API throughput, {CLIENTS} clients", len(latencies) / elapsed, unit="req/s",
                   note="target ≥ 100 req/s", target=None),
            Figure("checkout API throughput shortfall below 100 req/s", max(0.0, 100 - len(latencies) / elapsed),
                   unit="req/s", target=0.001),
            Figure("checkout API latency, p95", quantiles(latencies, n=20)[-1], unit="ms", target=100),
            Figure("checkout API errors (non-201 answers)", float(len(errors)), unit="", target=0.5),
            Figure(f"checkout paying with stored value, throughput, {CLIENTS} clients", card_rate, unit="req/s",
                   note="target ≥ 100 req/s", target=None),
            Figure("stored-value checkout throughput shortfall below 100", max(0.0, 100 - card_rate),
                   unit="req/s", target=0.001),
            Figure("stored-value checkout latency, p95", quantiles(card_latencies, n=20)[-1], unit="ms", target=100),
            Figure("stored-value checkout errors (non-201 answers)", float(len(card_errors)), unit="",
                   target=0.5),
        ]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        drop_clinic(clinic)
