"""Migrating a clinic in: 10,000 members, then 70,000 historical visits, imported from CSV into a
throwaway clinic through the same services the API and the import_csv command use (validation,
bulk writes and the tier evaluation included)."""

import csv
import io
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from accounts.models import User
from bench.clinic_data import GIVEN, SURNAMES, drop_clinic, fresh_clinic
from bench.figures import Figure
from imports.services import ImportReport, members_import, visits_import
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

MEMBERS = 10_000
VISITS = 70_000
TARGET_SECONDS = 30.0
TREATMENTS = [("光子嫩肤", "laser", "1280.00"), ("热玛吉全脸", "laser", "16800.00"),
              ("玻尿酸填充（1ml）", "injectables", "4800.00"), ("深层补水护理", "facial", "398.00"),
              ("小气泡清洁", "facial", "268.00"), ("医用修复面膜", "skincare", "98.00")]
DISCOUNT_RATES = (Decimal(0), Decimal(0), Decimal("0.05"), Decimal("0.1"))
METHODS = ["wechat_pay", "alipay", "cash", "bank_card", "微信", "现金"]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def members_csv(rng: random.Random) -> bytes:
    rows = []
    for n in range(MEMBERS):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        rows.append([f"G{n:06d}", name, f"138{n:08d}", rng.choice(("女", "女", "女", "男")),
                     f"{rng.randint(1965, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                     "walk_in", rng.choice(("补水", "抗衰;光电", "")), f"20{rng.randint(15, 24)}-03-01",
                     rng.choice(("yes", "no", ""))])
    return _csv(["member_number", "name", "phone", "gender", "birthday", "source", "tags", "joined_on",
                 "consent_marketing_sms"], rows)


def visits_csv(rng: random.Random) -> bytes:
    """One receipt per row; a tenth of the rows name the member by phone, a third name a
    catalogue item by its code, the rest by name and category."""
    first_day = date(2019, 1, 1)
    rows = []
    for n in range(VISITS):
        member = rng.randrange(MEMBERS)
        number, phone = (f"G{member:06d}", "") if n % 10 else ("", f"138{member:08d}")
        day = first_day + timedelta(days=rng.randrange(7 * 365))
        when = f"{day.isoformat()} {rng.randint(9, 20):02d}:{rng.choice(('00', '30'))}" if n % 4 else day.isoformat()
        name, category, price = rng.choice(TREATMENTS)
        sku = f"T{TREATMENTS.index((name, category, price)):02d}" if n % 3 == 0 else ""
        quantity = rng.choice((1, 1, 1, 2))
        discount = f"{Decimal(price) * quantity * rng.choice(DISCOUNT_RATES):.2f}"
        rows.append([number, phone, when, f"OLD-{n:07d}", sku, "" if sku else name, "" if sku else category,
                     str(quantity), price, discount, "", rng.choice(METHODS)])
    return _csv(["member_number", "phone", "visited_at", "external_ref", "item_sku", "item_name", "category",
                 "quantity", "unit_price", "discount", "paid", "payment_method"], rows)


def _timed(importer: Callable[..., ImportReport], content: bytes, name: str, actor: User) -> float:
    started = time.perf_counter()
    report = importer(file=ContentFile(content, name=name), actor=actor)
    elapsed = time.perf_counter() - started
    if report.rejected or report.imported != report.rows:
        raise RuntimeError(f"{name} was not imported whole: {report.errors[:5]}")
    return elapsed


def main() -> list[Figure]:
    clinic = fresh_clinic("benchimport")
    try:
        with tenant_context(clinic):
            rng = random.Random(11)
            owner = User.objects.get(username="owner")
            categories = {code: category_create(name=name, code=code) for code, name in
                          (("laser", "光电类"), ("injectables", "注射类"), ("facial", "皮肤护理"),
                           ("skincare", "护肤品"))}
            for index, (name, category, price) in enumerate(TREATMENTS):
                catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name=name, sku=f"T{index:02d}",
                                      category=categories[category], price=price, duration_minutes=60)
            members_seconds = _timed(members_import, members_csv(rng), "members.csv", owner)
            visits_seconds = _timed(visits_import, visits_csv(rng), "visits.csv", owner)
        return [
            Figure(f"import of {VISITS:,} visits ({MEMBERS:,} members)", visits_seconds,
                   target=TARGET_SECONDS),
            Figure(f"import of {MEMBERS:,} members", members_seconds, note="reference"),
        ]
    finally:
        drop_clinic(clinic)
