"""One interface for every channel. A backend takes an OutgoingMessage and returns the
provider's id for it, or raises TemporaryFailure (try again later) or PermanentFailure (the
provider refused it). `MESSAGING_BACKENDS` in settings names the backend of each channel."""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str  # our id for the message; providers that deduplicate use it
    sender: str  # the clinic's name


class TemporaryFailure(Exception):
    """The message may go through if tried again later (timeouts, 5xx, connection errors)."""


class PermanentFailure(Exception):
    """The provider refused the message; trying again will not help."""


class ChannelBackend(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> str: ...


def backend_for(channel: str) -> ChannelBackend:
    config = settings.MESSAGING_BACKENDS[channel]
    return import_string(config["BACKEND"])(**config.get("OPTIONS", {}))
