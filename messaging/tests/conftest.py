"""Messaging fixtures: members with or without consent, and a local HTTP server that plays the
SMS provider (answers scripted per request: success, an error status, or a slow answer)."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from members.models import ConsentRecord, Member
from members.services import consent_record, member_register

ALL_MARKETING = ("marketing_sms", "marketing_email", "marketing_wechat")


@pytest.fixture
def make_member(db) -> Callable[..., Member]:
    phones = iter(range(13900000001, 13900099999))

    def make(name: str = "张小美", *, consents: tuple[str, ...] = ALL_MARKETING, **fields) -> Member:
        member = member_register(name=name, phone=str(next(phones)), actor=None, **fields)
        for purpose in consents:
            consent_record(member=member, purpose=purpose, granted=True,
                           channel=ConsentRecord.Channel.FRONT_DESK, actor=None)
        return member

    return make


@dataclass
class FakeProvider:
    """What the provider answers, one script entry per request (then 200 with an id), and what it
    received."""

    port: int = 0
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            provider.received.append({**payload, "authorization": self.headers["Authorization"]})
            status, delay = provider.script.pop(0) if provider.script else (200, 0.0)
            time.sleep(delay)
            body = (json.dumps({"id": f"prov-{len(provider.received)}"}) if status == 200
                    else json.dumps({"error": "rejected"})).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format, *args) -> None:
            pass

    return Handler


@pytest.fixture
def sms_provider(settings) -> Iterator[FakeProvider]:
    """A running fake provider, and the SMS channel pointed at it (timeout 0.5 s, 2 retries)."""
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MESSAGING_BACKENDS = {
        **settings.MESSAGING_BACKENDS,
        "sms": {"BACKEND": "messaging.backends.http.SmsHttpBackend",
                "OPTIONS": {"url": provider.url, "api_key": "test-key", "timeout": 0.5, "retries": 2,
                            "backoff": 0.05}},
    }
    yield provider
    server.shutdown()
    server.server_close()
