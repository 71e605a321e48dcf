"""Demo data for trying the product locally (`make run`): a platform operator, the demo clinic,
one staff account per role, a catalogue, a few hundred members and their visit history. Every
step is idempotent: seeding again adds what is missing and leaves what is there, passwords
included."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_create
from checkout.services import LineInput, PaymentInput, checkout_complete
from clinics.models import Clinic
from clinics.provisioning import OwnerSpec, clinic_create
from members.models import ConsentRecord, Member
from members.services import ConsentInput, member_register
from points.rules import loyalty_settings_update
from tiers.selectors import member_current_tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

DEMO_CLINIC_SLUG = "demo"
DEMO_CLINIC_NAME = "悦美医疗美容诊所"
# Published on purpose: it guards only demo data on a developer's machine.
DEMO_PASSWORD = "Demo-pass-2025"  # noqa: S105
OPERATOR_USERNAME = "operator"
ACTOR = "seed_demo"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    full_name: str
    role: Role

    @property
    def email(self) -> str:
        return f"{self.username}@demo.example.com"


DEMO_OWNER = DemoStaff("owner", "林悦", Role.OWNER)
DEMO_STAFF = (
    DEMO_OWNER,
    DemoStaff("manager", "王静怡", Role.MANAGER),
    DemoStaff("frontdesk", "张晓敏", Role.FRONT_DESK),
    DemoStaff("practitioner", "陈思远", Role.PRACTITIONER),
)


def demo_operator_ensure() -> User:
    """The platform operator, in the public schema."""
    with schema_context(get_public_schema_name()):
        operator = User.objects.filter(username=OPERATOR_USERNAME).first()
        if operator is None:
            operator = User(username=OPERATOR_USERNAME, email="operator@example.com",
                            full_name="平台管理员", is_staff=True, is_superuser=True)
            operator.set_password(DEMO_PASSWORD)
            operator.full_clean()
            operator.save()
        return operator


def demo_clinic_ensure() -> tuple[Clinic, bool]:
    """The demo clinic, provisioned like any other, and whether it was created now."""
    with schema_context(get_public_schema_name()):
        clinic = Clinic.objects.filter(schema_name=DEMO_CLINIC_SLUG).first()
        if clinic is not None:
            return clinic, False
        owner = OwnerSpec(username=DEMO_OWNER.username, email=DEMO_OWNER.email,
                          full_name=DEMO_OWNER.full_name, password=DEMO_PASSWORD)
        return clinic_create(slug=DEMO_CLINIC_SLUG, name=DEMO_CLINIC_NAME, owner=owner, actor=ACTOR), True


def demo_staff_ensure(clinic: Clinic) -> None:
    """One staff account per role in the clinic."""
    with schema_context(clinic.schema_name):
        existing = set(User.objects.filter(username__in=[staff.username for staff in DEMO_STAFF])
                       .values_list("username", flat=True))
        for staff in DEMO_STAFF:
            if staff.username not in existing:
                staff_create(username=staff.username, email=staff.email, full_name=staff.full_name,
                             role=staff.role, password=DEMO_PASSWORD)


DEMO_CATALOGUE = (
    # kind, sku, name, category code, price, minutes, recall days
    ("treatment", "BTX-01", "肉毒素除皱（额纹）", "injectables", "2800.00", 30, 120),
    ("treatment", "HA-01", "玻尿酸填充（苹果肌）", "injectables", "4800.00", 45, 270),
    ("treatment", "LSR-01", "光子嫩肤", "laser", "1280.00", 40, 30),
    ("treatment", "LSR-02", "皮秒祛斑", "laser", "3600.00", 50, 60),
    ("treatment", "FAC-01", "水光针补水", "skincare", "1680.00", 40, 30),
    ("treatment", "FAC-02", "深层清洁护理", "skincare", "398.00", 60, 21),
    ("product", "PRD-01", "医用修护面膜（盒）", "products", "268.00", None, None),
    ("product", "PRD-02", "防晒霜 SPF50", "products", "198.00", None, None),
)
DEMO_CATEGORIES = (("injectables", "注射美容"), ("laser", "光电项目"), ("skincare", "皮肤管理"),
                   ("products", "护肤产品"))
DEMO_MEMBERS = 300
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕"
GIVEN = "小美丽娜婷静雪芳敏燕红艳玲欣怡佳颖璐瑶琳晶莹倩雯霞梅兰慧秀英华月洁蓉薇菲妍晓宁思涵雨"
TAGS = ("skincare", "anti-ageing", "injectables", "laser", "body", "hair-removal")


def demo_members_seed(clinic: Clinic, *, count: int = DEMO_MEMBERS, seed: int = 2026) -> int:
    """A catalogue, a few hundred invented members (Chinese names, mobile numbers, birthdays,
    consents) and about a year of visits checked out through the real checkout, so points,
    tiers and coupons look as they would in a clinic. Skipped when the clinic has members."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if Member.objects.exists():
            return 0
        desk = User.objects.get(username="frontdesk")
        loyalty_settings_update(signup_bonus=100, first_visit_bonus=200, referral_bonus_referrer=500,
                                referral_bonus_referee=300, birthday_month_multiplier=Decimal("2"))
        categories = {code: category_create(name=name, code=code) for code, name in DEMO_CATEGORIES}
        items = [catalogue_item_create(kind=kind, sku=sku, name=name, category=categories[code],
                                       price=Decimal(price), duration_minutes=minutes, recall_days=recall)
                 for kind, sku, name, code, price, minutes, recall in DEMO_CATALOGUE]
        now = timezone.now()
        members = []
        for n in range(count):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            referrer = rng.choice(members) if members and rng.random() < 0.15 else None
            consents = [ConsentInput(purpose=ConsentRecord.Purpose.DATA_PROCESSING, granted=True),
                        ConsentInput(purpose=ConsentRecord.Purpose.MARKETING_SMS, granted=rng.random() < 0.7)]
            members.append(member_register(
                name=name, phone=f"13{rng.randint(0, 9)}{20000000 + n * 137:08d}", actor=desk,
                gender="female" if rng.random() < 0.85 else "male",
                birthday=date(rng.randint(1965, 2003), rng.randint(1, 12), rng.randint(1, 28)),
                celebrates_lunar_birthday=rng.random() < 0.1,
                referral_code=referrer.referral_code if referrer else "",
                tags=rng.sample(TAGS, k=rng.randint(0, 2)), consents=consents,
                joined_on=(now - timedelta(days=rng.randint(30, 720))).date()))
        plan = sorted(
            ((now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 8)), member, rng.choice(items))
             for member in members for _visit in range(rng.choice((0, 1, 1, 2, 3, 5, 8)))),
            key=lambda visit: visit[0])
        for at, member, item in plan:
            quantity = 2 if item.kind == CatalogueItem.Kind.PRODUCT and rng.random() < 0.3 else 1
            method = rng.choice(("wechat_pay", "alipay", "bank_card", "cash"))
            checkout_complete(member=member, actor=desk, at=at,
                              lines=[LineInput(item_id=item.pk, quantity=quantity)],
                              payments=[PaymentInput(method, _demo_due(item.price * quantity, member))])
        return len(members)


def _demo_due(gross: Decimal, member: Member) -> Decimal:
    discount = (gross * member_current_tier(member).discount_percent / 100).quantize(Decimal("0.01"),
                                                                                    rounding=ROUND_HALF_UP)
    return gross - discount


def demo_seed(*, members: int = DEMO_MEMBERS) -> tuple[Clinic, bool]:
    """Everything above; returns the demo clinic and whether it was created now."""
    demo_operator_ensure()
    clinic, created = demo_clinic_ensure()
    demo_staff_ensure(clinic)
    demo_members_seed(clinic, count=members)
    return clinic, created
