"""An iCalendar (RFC 5545) file for one booking, for the member's own calendar app."""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Booking


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def booking_ics(booking: Booking, *, clinic_name: str, host: str, now: datetime | None = None) -> str:
    """The booking as one VEVENT; times in UTC, so every calendar shows them in its own zone.
    A cancelled booking is sent as STATUS:CANCELLED, and each reschedule raises SEQUENCE."""
    now = now or timezone.now()
    location = booking.location.name + (f", {booking.location.address}" if booking.location.address else "")
    summary = _("%(treatment)s at %(clinic)s") % {"treatment": booking.treatment.name, "clinic": clinic_name}
    description = _("With %(practitioner)s. Booking number %(number)s.") % {
        "practitioner": booking.practitioner, "number": booking.pk}
    status = "CANCELLED" if booking.status == Booking.Status.CANCELLED else "CONFIRMED"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinic Loyalty//Appointments//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:booking-{booking.pk}@{host}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(booking.starts_at)}",
        f"DTEND:{_utc(booking.ends_at)}",
        f"SEQUENCE:{booking.reschedule_count}",
        f"STATUS:{status}",
        f"SUMMARY:{_escape(summary)}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
