"""Writes to the catalogue. Visits themselves are written by checkout.services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import settings_change_check
from visits.models import CatalogueItem, Category, VisitLine

ITEM_FIELDS = ("kind", "name", "sku", "category", "price", "duration_minutes", "buffer_minutes",
               "recall_days", "online_booking_enabled", "needs_clearance", "active")
CATEGORY_FIELDS = ("name", "code")


@transaction.atomic
def category_create(*, name: str, code: str, actor: User | None = None) -> Category:
    settings_change_check(actor)
    category = Category(name=name.strip(), code=code.strip().lower())
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def category_update(*, category: Category, actor: User | None = None, **changes) -> Category:
    """Rename a category or change its code. Past visit lines keep pointing at it."""
    settings_change_check(actor)
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    category = Category.objects.select_for_update().get(pk=category.pk)
    if "name" in changes:
        category.name = changes["name"].strip()
    if "code" in changes:
        category.code = changes["code"].strip().lower()
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def category_delete(*, category: Category, actor: User | None = None) -> None:
    """Delete a category that no item and no past visit line uses; a coupon or points multiplier
    for it goes with it."""
    settings_change_check(actor)
    if category.items.exists():
        raise ValidationError(_("Treatments or products are in “%(name)s”; move them to another "
                                "category first.") % {"name": category.name})
    if VisitLine.objects.filter(category=category).exists():
        raise ValidationError(_("Past visits are recorded under “%(name)s”, so it cannot be deleted.")
                              % {"name": category.name})
    category.delete()


@transaction.atomic
def catalogue_item_create(*, kind: str, name: str, sku: str, category: Category, price: Decimal,
                          duration_minutes: int | None = None, buffer_minutes: int = 0,
                          recall_days: int | None = None, online_booking_enabled: bool = True,
                          needs_clearance: bool = False, active: bool = True,
                          actor: User | None = None) -> CatalogueItem:
    settings_change_check(actor)
    item = CatalogueItem(kind=kind, name=name.strip(), sku=sku.strip().upper(), category=category,
                         price=price, duration_minutes=duration_minutes, buffer_minutes=buffer_minutes,
                         recall_days=recall_days, online_booking_enabled=online_booking_enabled,
                         needs_clearance=needs_clearance, active=active)
    _validate(item)
    item.save()
    return item


@transaction.atomic
def catalogue_item_update(*, item: CatalogueItem, actor: User | None = None, **changes) -> CatalogueItem:
    """Change an item, or deactivate it (`active=False`): it leaves the checkout list, and past
    visits keep it."""
    settings_change_check(actor)
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    item = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    for field, value in changes.items():
        setattr(item, field, value)
    if "sku" in changes:
        item.sku = item.sku.strip().upper()
    if "name" in changes:
        item.name = item.name.strip()
    _validate(item)
    item.save()
    return item


def _validate(item: CatalogueItem) -> None:
    if item.kind == CatalogueItem.Kind.TREATMENT and not item.duration_minutes:
        raise ValidationError({"duration_minutes": _("A treatment needs a duration.")})
    item.full_clean()
