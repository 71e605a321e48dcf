"""What the message log does when a member is merged into another or erased."""

from accounts.models import User
from members.models import Member
from messaging.models import Message


def messages_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    """The duplicate's messages become the survivor's, so the weekly cap counts them."""
    Message.objects.filter(member=duplicate).update(member=survivor)


def messages_erase(member: Member) -> None:
    """Erasure removes the personal data from the member's messages (address, subject, text);
    what was sent when, on which channel and for which purpose stays."""
    Message.objects.filter(member=member).update(recipient="", subject="", body="")
