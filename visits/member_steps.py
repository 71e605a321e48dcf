"""What happens to visits when a member is merged into another."""

from accounts.models import User
from members.models import Member
from visits.models import Visit


def visits_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    Visit.objects.filter(member=duplicate).update(member=survivor)
