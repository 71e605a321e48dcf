from django.db.models import Prefetch, QuerySet

from members.models import Member
from visits.models import CatalogueItem, Category, Payment, Visit, VisitLine


def catalogue_list(*, active_only: bool = True, kind: str | None = None) -> QuerySet[CatalogueItem]:
    items = CatalogueItem.objects.select_related("category")
    if active_only:
        items = items.filter(active=True)
    return items.filter(kind=kind) if kind else items


def category_list() -> QuerySet[Category]:
    return Category.objects.all()


def visits_with_details() -> QuerySet[Visit]:
    return Visit.objects.select_related("staff", "member").prefetch_related(
        Prefetch("lines", queryset=VisitLine.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")), "refunds")


def member_visits(*, member: Member, limit: int = 50) -> list[Visit]:
    return list(visits_with_details().filter(member=member)[:limit])
