"""Email through Django's configured mail backend (SMTP in production)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid

from messaging.backends import OutgoingMessage, PermanentFailure, TemporaryFailure


class EmailBackend:
    name = "email"

    def send(self, message: OutgoingMessage) -> str:
        message_id = make_msgid(idstring=message.reference.replace(":", "."))
        email = EmailMessage(subject=message.subject, body=message.body,
                             from_email=settings.DEFAULT_FROM_EMAIL, to=[message.recipient],
                             headers={"Message-ID": message_id})
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{exc.__class__.__name__}: {exc}") from exc
        return message_id
