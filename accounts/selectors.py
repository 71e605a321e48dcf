from django.db.models import QuerySet

from accounts.models import StaffEvent, User


def staff_list(*, include_inactive: bool = True) -> QuerySet[User]:
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    return users if include_inactive else users.filter(is_active=True)


def staff_history(*, user: User) -> QuerySet[StaffEvent]:
    return user.events.select_related("actor")
