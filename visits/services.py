"""Writes to the catalogue. Visits themselves are written by checkout.services."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from visits.models import CatalogueItem, Category

ITEM_FIELDS = ("kind", "name", "sku", "category", "price", "duration_minutes", "buffer_minutes",
               "recall_days", "active")


def category_create(*, name: str, code: str) -> Category:
    category = Category(name=name.strip(), code=code.strip().lower())
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def catalogue_item_create(*, kind: str, name: str, sku: str, category: Category, price: Decimal,
                          duration_minutes: int | None = None, buffer_minutes: int = 0,
                          recall_days: int | None = None, active: bool = True) -> CatalogueItem:
    item = CatalogueItem(kind=kind, name=name.strip(), sku=sku.strip().upper(), category=category,
                         price=price, duration_minutes=duration_minutes, buffer_minutes=buffer_minutes,
                         recall_days=recall_days, active=active)
    _validate(item)
    item.save()
    return item


@transaction.atomic
def catalogue_item_update(*, item: CatalogueItem, **changes) -> CatalogueItem:
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(fields)s")
                              % {"fields": ", ".join(sorted(unknown))})
    for field, value in changes.items():
        setattr(item, field, value)
    if "sku" in changes:
        item.sku = item.sku.strip().upper()
    _validate(item)
    item.save()
    return item


def _validate(item: CatalogueItem) -> None:
    if item.kind == CatalogueItem.Kind.TREATMENT and not item.duration_minutes:
        raise ValidationError({"duration_minutes": _("A treatment needs a duration.")})
    item.full_clean()
