from django.db.models import Prefetch, QuerySet

from members.models import Member
from members.selectors import export_rows
from visits.models import CatalogueItem, Category, Payment, Refund, RefundLine, Visit, VisitLine


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


def visits_with_lines() -> QuerySet[Visit]:
    """Visits with their lines only, for lists that show what was bought but not how it was paid."""
    return Visit.objects.prefetch_related(Prefetch("lines", queryset=VisitLine.objects.order_by("id")))


def visit_just_checked_out(visit: Visit, *, lines: list[VisitLine], payments: list[Payment]) -> Visit:
    """The visit checkout has just written, with its lines and payments (and no refunds yet) as
    if fetched by `visits_with_details`, so that answering with it costs no further query. For
    showing only: the copy does not follow later changes."""
    def prefetched(queryset: QuerySet, rows: list) -> QuerySet:
        queryset._result_cache, queryset._prefetch_done = rows, True
        return queryset

    visit._prefetched_objects_cache = {
        "lines": prefetched(VisitLine.objects.all(), lines),
        "payments": prefetched(Payment.objects.all(), payments),
        "refunds": prefetched(Refund.objects.all(), []),
    }
    return visit


def member_visits(*, member: Member, limit: int = 50) -> list[Visit]:
    return list(visits_with_details().filter(member=member)[:limit])


def visits_export(member: Member) -> dict:
    """The member's visits with their lines, payments and refunds, oldest first, for an export."""
    visits = export_rows(Visit.objects.filter(member=member).order_by("visited_at", "id"),
                         "id", "visited_at", "source", "staff_id", "subtotal", "line_discount",
                         "tier_discount", "coupon_discount", "points_used", "points_discount", "total",
                         "refunded_total", "external_ref")
    for visit in visits:
        visit["lines"] = export_rows(VisitLine.objects.filter(visit_id=visit["id"]).order_by("id"),
                                     "id", "name", "item_id", "category_id", "quantity", "unit_price",
                                     "discount", "line_total", "refunded_quantity", "points_earned")
        visit["payments"] = export_rows(Payment.objects.filter(visit_id=visit["id"]).order_by("id"),
                                        "method", "amount", "refund_id")
        visit["refunds"] = export_rows(Refund.objects.filter(visit_id=visit["id"]).order_by("created_at", "id"),
                                       "id", "amount", "reason", "actor_id", "points_reversed",
                                       "points_unrecovered", "points_restored", "created_at")
        for refund in visit["refunds"]:
            refund["lines"] = export_rows(RefundLine.objects.filter(refund_id=refund["id"]).order_by("id"),
                                          "line_id", "quantity", "amount")
    return {"visits": visits}
