"""Writes to the catalogue. Visits themselves are written by checkout.services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import settings_change, settings_update
from visits.models import CatalogueItem, Category, VisitLine

ITEM_FIELDS = ("kind", "name", "sku", "category", "price", "duration_minutes", "buffer_minutes",
               "recall_days", "online_booking_enabled", "needs_clearance", "active")
CATEGORY_FIELDS = ("name", "code")


def _category_normalise(category: Category) -> None:
    category.name = category.name.strip()
    category.code = category.code.strip().lower()


@transaction.atomic
def category_create(*, name: str, code: str, actor: User | None = None) -> Category:
    return settings_update(actor=actor, obj=Category(name=name, code=code), changes={}, fields=CATEGORY_FIELDS,
                           validate=_category_normalise)


@transaction.atomic
def category_update(*, category: Category, actor: User | None = None, **changes) -> Category:
    """Rename a category or change its code. Past visit lines keep pointing at it."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    return settings_update(actor=actor, obj=category, changes=changes, fields=CATEGORY_FIELDS,
                           validate=_category_normalise)


@transaction.atomic
def category_delete(*, category: Category, actor: User | None = None) -> None:
    """Delete a category that no item and no past visit line uses; a coupon or points multiplier
    for it goes with it."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    with settings_change(actor=actor, obj=category, fields=CATEGORY_FIELDS):
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
    item = CatalogueItem(kind=kind, name=name, sku=sku, category=category,
                         price=price, duration_minutes=duration_minutes, buffer_minutes=buffer_minutes,
                         recall_days=recall_days, online_booking_enabled=online_booking_enabled,
                         needs_clearance=needs_clearance, active=active)
    return settings_update(actor=actor, obj=item, changes={}, fields=ITEM_FIELDS, validate=_validate,
                           full_clean=False)


@transaction.atomic
def catalogue_item_update(*, item: CatalogueItem, actor: User | None = None, **changes) -> CatalogueItem:
    """Change an item, or deactivate it (`active=False`): it leaves the checkout list, and past
    visits keep it."""
    item = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    return settings_update(actor=actor, obj=item, changes=changes, fields=ITEM_FIELDS, validate=_validate,
                           full_clean=False)


def _validate(item: CatalogueItem) -> None:
    item.name = item.name.strip()
    item.sku = item.sku.strip().upper()
    if item.kind == CatalogueItem.Kind.TREATMENT and not item.duration_minutes:
        raise ValidationError({"duration_minutes": _("A treatment needs a duration.")})
    item.full_clean()
