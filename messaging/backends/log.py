"""The development backend: nothing leaves the machine. The message log row (subject, text,
recipient) is the record a person reads; the send is also written to the application log."""

import logging

from messaging.backends import OutgoingMessage

logger = logging.getLogger("messaging")


class LogBackend:
    name = "log"

    def send(self, message: OutgoingMessage) -> str:
        logger.info("%s to %s (%s): %s", message.channel, message.recipient, message.reference,
                    message.body)
        return f"log-{message.reference}"
