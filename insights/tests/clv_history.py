"""A clinic history for the predictive-CLV tests, drawn from BG/NBD and Gamma-Gamma with known
parameters (seeded) and made through the real members and visits imports, with checkouts and
refunds beside; kept as plain records so that the tests compute the models' inputs on their own."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from accounts.models import User
from checkout.services import LineInput, PaymentInput, checkout_complete, visit_refund
from imports.services import csv_import
from insights import btyd
from members.models import Member
from members.services import member_archive, member_register
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

ZONE = ZoneInfo("Asia/Shanghai")
TRUE_BGNBD = btyd.BgNbd(r=1.2, alpha=18.0, a=1.0, b=3.0)  # weeks: about 3.5 visits a year
TRUE_GG = btyd.GammaGamma(p=4.0, q=5.0, v=1500.0)  # a mean spend of ¥1,500


@dataclass
class Visit:
    member_id: int
    day: date
    net: Decimal
    voided: bool = False


def csv_rows_import(kind: str, rows: list[dict], owner: User) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    file = io.BytesIO(buffer.getvalue().encode())
    file.name = f"{kind}.csv"
    report = csv_import(kind=kind, file=file, actor=owner)
    assert not report.errors, report.errors[:3]


def clv_history_make(owner: User, today: date) -> tuple[list[Visit], int]:
    """260 members first seen over the last two years, visiting as BG/NBD says (in whole local days)
    and spending as Gamma-Gamma says, imported; plus checkouts with a full refund (voided), a part
    refund and two visits on one day."""
    rng = np.random.default_rng(16)
    n = 260
    first = rng.integers(10, 720, n)  # days before today
    simulated = btyd.simulate(TRUE_BGNBD, None, T=first / 7.0, rng=rng)  # for each member's λ and p
    members = [{"name": f"预测{i}", "phone": f"1370000{i:04d}", "member_number": f"P{i:04d}",
                "joined_on": (today - timedelta(days=int(first[i]))).isoformat()} for i in range(n)]
    csv_rows_import("members", members, owner)
    ids = dict(Member.objects.values_list("member_number", "pk"))
    rows, visits = [], []
    for i in range(n):
        lam, drop, nu = simulated["lam"][i], simulated["p"][i], rng.gamma(TRUE_GG.q, 1 / TRUE_GG.v)
        start = today - timedelta(days=int(first[i]))
        offset, k = 0.0, 0
        while True:
            day = start + timedelta(days=int(offset))
            if day >= today:
                break
            value = Decimal(str(max(round(float(rng.gamma(TRUE_GG.p, 1 / nu)), 2), 1.0))).quantize(Decimal("0.01"))
            rows.append({"member_number": f"P{i:04d}", "visited_at": f"{day} 14:30", "external_ref": f"R{i}-{k}",
                         "item_name": "护理", "unit_price": str(value), "payment_method": "cash"})
            visits.append(Visit(ids[f"P{i:04d}"], day, value))
            if k > 0 and rng.random() < drop:  # drops out after a repeat visit
                break
            offset += rng.exponential(1 / lam) * 7
            k += 1
    csv_rows_import("visits", rows, owner)

    category = category_create(name="产品", code="prod")
    cream = catalogue_item_create(kind=CatalogueItem.Kind.PRODUCT, name="修护霜", sku="CREAM", category=category,
                                  price=Decimal("200.00"))
    member = member_register(name="退款测试", phone="13800001111", actor=owner,
                             joined_on=today - timedelta(days=300))

    def checkout(days_ago: int, hour: int, quantity: int = 1):
        at = datetime.combine(today - timedelta(days=days_ago), time(hour, 0), tzinfo=ZONE)
        result = checkout_complete(member=member, actor=owner, at=at, lines=[LineInput(item_id=cream.pk,
                                   quantity=quantity)], payments=[PaymentInput("cash", Decimal(200 * quantity))])
        return result, at

    checkout(290, 11)
    full, at = checkout(200, 11)
    visit_refund(visit=full.visit, lines=[(full.lines[0].pk, 1)], reason="不满意", actor=owner,
                 at=at + timedelta(days=1))
    part, at = checkout(100, 23, quantity=2)  # 23:00 local: still that local day
    visit_refund(visit=part.visit, lines=[(part.lines[0].pk, 1)], reason="退一件", actor=owner,
                 at=at + timedelta(days=1))
    checkout(30, 10)
    checkout(30, 16)
    visits += [Visit(member.pk, today - timedelta(days=290), Decimal("200.00")),
               Visit(member.pk, today - timedelta(days=200), Decimal("0.00"), voided=True),
               Visit(member.pk, today - timedelta(days=100), Decimal("200.00")),
               Visit(member.pk, today - timedelta(days=30), Decimal("200.00")),
               Visit(member.pk, today - timedelta(days=30), Decimal("200.00"))]
    archived = Member.objects.get(member_number="P0001")
    member_archive(member=archived, actor=owner, reason="搬家")
    return visits, archived.pk


