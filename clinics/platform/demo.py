"""Demo data for trying the product locally (`make run`): a platform operator, the demo clinic,
one staff account per role, a catalogue, a few hundred members and their visit history. Every
step is idempotent: seeding again adds what is missing and leaves what is there, passwords
included."""

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_create
from appointments.availability import availability, local_day_start
from appointments.models import Booking, Location, Practitioner, Resource, ResourceType
from appointments.schedule import (
    Period,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.services import (
    booking_cancel,
    booking_check_in,
    booking_checkout,
    booking_confirm,
    booking_create,
    booking_no_show,
)
from campaigns.demo import demo_campaigns_seed
from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote, visit_refund
from clinics.models import Clinic
from clinics.platform.provisioning import OwnerSpec, clinic_create
from feedback.models import FollowUpRule, FollowUpTask, Survey
from feedback.services import (
    AnswerInput,
    complaint_close,
    followup_create,
    followup_outcome_record,
    followup_rule_create,
    recall_followups_create,
    survey_answer_submit,
    treatment_followups_create,
)
from insights.customer_value import customer_value_fit
from members.models import ConsentRecord, Member
from members.services import ConsentInput, member_register
from packages.models import PackageProduct
from packages.services import package_product_create
from points.coupons import coupon_template_create
from points.ledger import account_for, available_balance
from points.models import CouponTemplate, Reward
from points.rewards import reward_create, reward_redeem
from points.rules import clinic_zone, local_date, loyalty_settings_update
from portal.services import portal_settings_update
from recommendations.learning import recommendations_learn
from segments.models import Segment
from segments.scoring import member_scores_refresh
from segments.services import segment_create
from storedvalue.models import TopUpPlan
from storedvalue.services import stored_value_top_up, top_up_plan_create
from visits.models import CatalogueItem, Category, Refund, Visit
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
    # kind, sku, name, category code, price, minutes, recall days (None: the interval is learned)
    ("treatment", "BTX-01", "肉毒素除皱（额纹）", "injectables", "2800.00", 30, 120),
    ("treatment", "BTX-02", "瘦脸针（咬肌）", "injectables", "3200.00", 30, None),
    ("treatment", "HA-01", "玻尿酸填充（苹果肌）", "injectables", "4800.00", 45, 270),
    ("treatment", "HA-02", "玻尿酸丰唇", "injectables", "3800.00", 40, None),
    ("treatment", "LSR-01", "光子嫩肤", "laser", "1280.00", 40, 30),
    ("treatment", "LSR-02", "皮秒祛斑", "laser", "3600.00", 50, 60),
    ("treatment", "LSR-03", "激光脱毛（腋下）", "laser", "680.00", 20, None),
    ("treatment", "LSR-04", "热玛吉紧致", "laser", "16800.00", 90, None),
    ("treatment", "LSR-05", "超声炮提升", "laser", "9800.00", 60, None),
    ("treatment", "FAC-01", "水光针补水", "skincare", "1680.00", 40, 30),
    ("treatment", "FAC-02", "深层清洁护理", "skincare", "398.00", 60, 21),
    ("treatment", "FAC-03", "小气泡清洁", "skincare", "298.00", 45, None),
    ("treatment", "FAC-04", "果酸焕肤", "skincare", "680.00", 40, None),
    ("treatment", "FAC-05", "舒缓修护护理", "skincare", "480.00", 50, None),
    ("product", "PRD-01", "医用修护面膜（盒）", "products", "268.00", None, None),
    ("product", "PRD-02", "防晒霜 SPF50", "products", "198.00", None, None),
    ("product", "PRD-03", "玻尿酸精华液", "products", "458.00", None, None),
    ("product", "PRD-04", "术后修复凝胶", "products", "328.00", None, None),
    ("product", "PRD-05", "维C亮肤精华", "products", "520.00", None, None),
    ("product", "PRD-06", "氨基酸洁面乳", "products", "128.00", None, None),
    ("product", "PRD-07", "舒缓保湿喷雾", "products", "158.00", None, None),
)
# What makes the demo history look like a clinic's, so recommendations have something to learn
# (docs/recommendations.md): each member who visits follows one or two of these habits, chosen
# by how common the habit is. A habit is a treatment repeated about its interval apart (±15 %),
# with a 30 % chance of stopping after each session, and what is often bought with it: the
# aftercare after a laser, the serum after a facial. (treatment, how common, typical days between
# sessions, ((item bought with it, how often), …).) An item bought with a session is bought in the
# same visit, or in a visit of its own 2 to 14 days later (AFTERCARE_LATER of the time).
DEMO_HABITS = (
    ("BTX-01", 8, 120, (("PRD-02", 0.15),)),
    ("BTX-02", 5, 150, ()),
    ("HA-01", 4, 270, (("PRD-04", 0.3),)),
    ("HA-02", 3, 240, (("PRD-04", 0.3),)),
    ("LSR-01", 10, 30, (("PRD-01", 0.6), ("PRD-02", 0.3))),
    ("LSR-02", 7, 60, (("PRD-04", 0.5), ("PRD-02", 0.5))),
    ("LSR-03", 5, 40, (("PRD-07", 0.3),)),
    ("LSR-04", 2, 365, (("PRD-01", 0.4),)),
    ("LSR-05", 2, 365, ()),
    ("FAC-01", 10, 30, (("PRD-03", 0.55),)),
    ("FAC-02", 8, 21, (("PRD-06", 0.25), ("PRD-03", 0.2))),
    ("FAC-03", 8, 21, (("PRD-05", 0.3),)),
    ("FAC-04", 5, 28, (("PRD-02", 0.4), ("PRD-07", 0.3))),
    ("FAC-05", 3, 30, (("PRD-07", 0.3),)),
)
HABIT_STOP = 0.3
AFTERCARE_LATER = 0.35
# Now and then a visit for something else (noise), chosen by how much the item is bought at all.
DEMO_APPEAL = {"BTX-01": 4, "BTX-02": 2, "HA-01": 2, "HA-02": 1, "LSR-01": 4, "LSR-02": 3, "LSR-03": 2,
               "LSR-04": 1, "LSR-05": 1, "FAC-01": 4, "FAC-02": 5, "FAC-03": 5, "FAC-04": 2, "FAC-05": 2,
               "PRD-01": 3, "PRD-02": 4, "PRD-03": 3, "PRD-04": 1, "PRD-05": 2, "PRD-06": 3, "PRD-07": 2}
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
        by_sku = {item.sku: item for item in items}
        plan = sorted((visit for member in members for visit in _demo_member_visits(rng, member, by_sku, now)),
                      key=lambda visit: visit[0])
        for at, member, lines in plan:
            method = rng.choice(("wechat_pay", "alipay", "bank_card", "cash"))
            checkout_complete(member=member, actor=desk, at=at,
                              lines=[LineInput(item_id=item.pk, quantity=quantity) for item, quantity in lines],
                              payments=[PaymentInput(method, None)])
        return len(members)


def _demo_member_visits(rng: random.Random, member: Member, items: dict[str, CatalogueItem], now):
    """(time, member, [(item, quantity)]) of a member's year: one or two habits of DEMO_HABITS
    (sessions about the habit's interval apart, what is often bought with each, in the same visit
    or a few days later), and now and then a visit for something else."""
    visits = []
    if rng.random() < 0.15:
        return visits
    weights = [habit[1] for habit in DEMO_HABITS]
    chosen = {rng.choices(DEMO_HABITS, weights=weights)[0] for _habit in range(rng.choice((1, 1, 1, 2)))}
    for sku, _common, interval, extras in sorted(chosen):
        day = rng.uniform(0, min(interval, 330))
        while day < 360:
            at = now - timedelta(days=360 - day, hours=rng.randint(0, 8))
            lines = [(items[sku], 1)]
            for extra, chance in extras:
                if rng.random() >= chance:
                    continue
                if rng.random() < AFTERCARE_LATER:
                    visits.append((at + timedelta(days=rng.randint(2, 14)), member, [(items[extra], 1)]))
                else:
                    lines.append((items[extra], 1))
            visits.append((at, member, lines))
            if rng.random() < HABIT_STOP:
                break
            day += max(7.0, rng.gauss(interval, interval * 0.15))
    skus = list(DEMO_APPEAL)
    for _visit in range(rng.choice((0, 0, 1, 2))):
        item = items[rng.choices(skus, weights=list(DEMO_APPEAL.values()))[0]]
        quantity = 2 if item.kind == CatalogueItem.Kind.PRODUCT and rng.random() < 0.3 else 1
        visits.append((now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 8)), member, [(item, quantity)]))
    return [visit for visit in visits if visit[0] < now - timedelta(hours=1)]


# Practitioners beside the demo practitioner account: username, name, the categories they treat.
DEMO_PRACTITIONERS = (
    ("practitioner", "陈思远", ("injectables", "laser", "skincare")),
    ("practitioner2", "周雅琴", ("injectables", "skincare")),
    ("practitioner3", "吴俊豪", ("laser", "skincare")),
)
DEMO_LOCATION = "悦美静安店"
DEMO_ADDRESS = "上海市静安区南京西路 1266 号"
DEMO_ROOMS = ("1 号治疗室", "2 号治疗室", "3 号治疗室")
DEMO_LASER = "皮秒激光仪"
DEMO_BOOKING_DAYS = 7


def _get_or(model, create, **lookup):
    return model.objects.filter(**lookup).first() or create()


def demo_schedule_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """A location with three treatment rooms and a laser machine, three practitioners (the demo
    practitioner account and two more) working every day 10:00-19:00, and bookings for today and
    the coming week through the booking service (some confirmed, one checked in). What exists is
    kept; bookings are added only when the clinic has none. Returns the bookings made."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        items = {item.sku: item for item in CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT)
                 .select_related("category")}
        if not items:
            return 0
        location = _get_or(Location, lambda: location_create(name=DEMO_LOCATION, address=DEMO_ADDRESS),
                           name=DEMO_LOCATION)
        room_type = _get_or(ResourceType, lambda: resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM),
                            name="治疗室")
        laser_type = _get_or(ResourceType, lambda: resource_type_create(name="激光仪", kind=ResourceType.Kind.DEVICE),
                             name="激光仪")
        for name, kind in [(room, room_type) for room in DEMO_ROOMS] + [(DEMO_LASER, laser_type)]:
            _get_or(Resource, lambda n=name, k=kind: resource_create(location=location, resource_type=k, name=n),
                    name=name, location=location)
        for item in items.values():
            if not item.resource_requirements.exists():
                needs = [room_type, laser_type] if item.category.code == "laser" else [room_type]
                treatment_requirements_set(treatment=item, resource_types=needs)
        for username, full_name, codes in DEMO_PRACTITIONERS:
            user = User.objects.filter(username=username).first() or staff_create(
                username=username, email=f"{username}@demo.example.com", full_name=full_name,
                role=Role.PRACTITIONER, password=DEMO_PASSWORD)
            if not Practitioner.objects.filter(user=user).exists():
                practitioner = practitioner_create(
                    user=user, treatments=[item for item in items.values() if item.category.code in codes])
                working_hours_set(practitioner=practitioner, periods=[
                    Period(location_id=location.pk, weekday=day, starts=time(10), ends=time(19)) for day in range(7)])
        if Booking.objects.exists():
            return 0
        return _demo_bookings(rng, list(items.values()))


def _demo_bookings(rng: random.Random, treatments: list[CatalogueItem]) -> int:
    members = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk")[:80])
    if not members:
        return 0
    desk = User.objects.get(username="frontdesk")
    now = timezone.now()
    today = local_date(now)
    made = 0
    for offset in range(DEMO_BOOKING_DAYS):
        day = today + timedelta(days=offset)
        # Booked two days ago, so every reminder is planned (none too late): those due now go on
        # the reminder job's first run.
        booked_at = now - timedelta(days=2)
        for n in range(5 if offset == 0 else 4):
            treatment = rng.choice(treatments)
            # Times still ahead (but today's first, which is checked in at once): their reminders
            # go out on the first run instead of being skipped as already started.
            slots = [slot for slot in availability(treatment=treatment, start=day, end=day)
                     if slot.starts_at > now + timedelta(hours=1) or (offset == 0 and n == 0)]
            if not slots:
                continue
            slot = rng.choice(slots[: max(1, len(slots) // 2)] if n % 2 == 0 else slots)
            booking = booking_create(member=rng.choice(members), treatment=treatment, starts_at=slot.starts_at,
                                     practitioner=Practitioner.objects.get(pk=slot.practitioner_id), actor=desk,
                                     now=booked_at)
            made += 1
            if offset == 0 and n == 0:
                booking_check_in(booking=booking, actor=desk)
            elif rng.random() < 0.5:
                booking_confirm(booking=booking, actor=desk)
    return made


def demo_portal_seed(clinic: Clinic) -> None:
    """The member portal takes new members online in the demo, so joining can be tried too."""
    with schema_context(clinic.schema_name):
        portal_settings_update(actor=None, join_enabled=True)


def demo_rewards_seed(clinic: Clinic) -> int:
    """Rewards for the points mall: two coupons a member can redeem in the portal and a product
    handed over at the desk. Skipped when the clinic has rewards. Returns the rewards made."""
    with schema_context(clinic.schema_name):
        if Reward.objects.exists():
            return 0
        hundred_off = coupon_template_create(name="满1000减100元券", kind=CouponTemplate.Kind.FIXED,
                                             amount=Decimal("100.00"), min_spend=Decimal("1000.00"), valid_days=60)
        tenth_off = coupon_template_create(name="护理项目九折券", kind=CouponTemplate.Kind.PERCENT, percent=10,
                                           cap=Decimal("300.00"), valid_days=30)
        mask = CatalogueItem.objects.filter(sku="PRD-01").first()
        rewards = [
            reward_create(name="100元代金券", kind=Reward.Kind.COUPON, points_cost=800, coupon_template=hundred_off,
                          stock=100, description="消费满1000元可用，兑换后60天内有效"),
            reward_create(name="护理项目九折券", kind=Reward.Kind.COUPON, points_cost=500, coupon_template=tenth_off,
                          per_member_limit=2, description="最多优惠300元，兑换后30天内有效"),
        ]
        if mask is not None:
            rewards.append(reward_create(name="医用修护面膜一盒", kind=Reward.Kind.PRODUCT, points_cost=1500,
                                         item=mask, stock=20, description="到店由前台兑换领取"))
        return len(rewards)


def demo_stored_value_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """Top-up plans (充2000送100, 充5000送500, 充10000送1500) and about one member in six with a card:
    topped up at the desk some weeks ago and partly spent at checkout, all through the real
    services. Skipped when the clinic has plans. Returns the top-ups made."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if TopUpPlan.objects.exists():
            return 0
        owner = User.objects.get(username="owner")
        desk = User.objects.filter(username="frontdesk").first() or owner
        plans = [top_up_plan_create(actor=owner, name=name, pay_amount=Decimal(pay), bonus_amount=Decimal(bonus),
                                    bonus_valid_days=365)
                 for name, pay, bonus in (("充2000送100", 2000, 100), ("充5000送500", 5000, 500),
                                          ("充10000送1500", 10000, 1500))]
        items = list(CatalogueItem.objects.filter(active=True, price__gt=0, price__lte=1500).order_by("pk"))
        members = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk"))
        made = 0
        now = timezone.now()
        for member in members[1::6]:
            at = now - timedelta(days=rng.randint(20, 120), hours=rng.randint(0, 8))
            stored_value_top_up(member=member, actor=desk, plan=rng.choice(plans),
                                method=rng.choice(("wechat_pay", "alipay", "bank_card")),
                                reference=f"DEMO{rng.randint(100000, 999999)}", at=at)
            made += 1
            if items and rng.random() < 0.7:
                item = rng.choice(items)
                try:
                    quote = checkout_quote(member=member, lines=[LineInput(item_id=item.pk)], actor=desk)
                    if quote.total > 0:
                        checkout_complete(member=member, actor=desk, lines=[LineInput(item_id=item.pk)],
                                          payments=[PaymentInput(method="stored_value", amount=quote.total)],
                                          at=at + timedelta(days=rng.randint(1, 15)))
                except ValidationError:
                    continue
        return made


def demo_portal_member(clinic: Clinic) -> Member | None:
    """A demo member to try the portal with (the first one registered)."""
    with schema_context(clinic.schema_name):
        return Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk").first()


DEMO_PAST_BOOKING_DAYS = 28


def demo_history_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """What makes the Insights panels meaningful: refunds (some in full), redemptions of the demo's
    rewards (demo_rewards_seed), and four weeks of past appointments, completed, checked out,
    cancelled or missed, all through the real services. Done once: skipped when the clinic has a
    refund. Returns the redemptions."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if Refund.objects.exists() or not Visit.objects.exists():
            return 0
        desk = User.objects.get(username="frontdesk")
        visits = list(Visit.objects.filter(total__gt=0).order_by("visited_at")[:200])
        for visit in rng.sample(visits, k=min(12, len(visits))):
            line = visit.lines.first()
            quantity = line.quantity if rng.random() < 0.6 else 1
            visit_refund(visit=visit, lines=[(line.pk, quantity)], reason="顾客不满意", actor=desk,
                         at=visit.visited_at + timedelta(days=1))
        rewards = list(Reward.objects.filter(active=True).order_by("pk"))
        redeemed = 0
        now = timezone.now()
        for member in Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk"):
            at = now - timedelta(days=rng.randint(0, 40))
            balance = available_balance(account_for(member), at=at)
            affordable = [reward for reward in rewards
                          if reward.points_cost <= balance and (reward.stock is None or reward.stock > 0)]
            if affordable and rng.random() < 0.5:
                reward = rng.choice(affordable)
                reward_redeem(member=member, reward=reward, actor=desk, at=at)
                reward.refresh_from_db(fields=["stock"])
                redeemed += 1
        _demo_past_bookings(rng, desk)
        return redeemed


def _demo_past_bookings(rng: random.Random, desk: User) -> None:
    treatments = list(CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT,
                                                   resource_requirements__isnull=False).distinct())
    members = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk")[:200])
    if not treatments or not members:
        return
    today = local_date(timezone.now())
    for offset in range(DEMO_PAST_BOOKING_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        booked_at = local_day_start(day, clinic_zone()) - timedelta(days=2)
        for _n in range(3):
            treatment = rng.choice(treatments)
            slots = availability(treatment=treatment, start=day, end=day, not_before=booked_at)
            if not slots:
                continue
            slot = rng.choice(slots)
            booking = booking_create(member=rng.choice(members), treatment=treatment, starts_at=slot.starts_at,
                                     practitioner=Practitioner.objects.get(pk=slot.practitioner_id), actor=desk,
                                     now=booked_at)
            roll = rng.random()
            if roll < 0.12:
                booking_cancel(booking=booking, actor=desk, reason="临时有事", now=booked_at + timedelta(hours=3))
            elif roll < 0.2:
                booking_no_show(booking=booking, actor=desk, now=slot.starts_at + timedelta(minutes=30))
            else:
                booking_check_in(booking=booking, actor=desk, now=slot.starts_at)
                booking_checkout(booking=booking, actor=desk, at=slot.starts_at + timedelta(hours=1),
                                 payments=[PaymentInput("wechat_pay", None)])
# Likelihood-to-recommend scores 0..10 and how often demo members give them (NPS about +40).
DEMO_NPS_WEIGHTS = (1, 1, 1, 2, 2, 3, 4, 8, 14, 26, 38)
DEMO_COMMENTS = {
    "promoter": ("医生很专业，效果很满意", "环境干净，服务周到", "前台很热情，下次还来"),
    "passive": ("效果还可以，再观察看看", "整体不错，就是价格偏高"),
    "detractor": ("等候时间太长了", "术后有点红肿，希望有人跟进", "价格和效果不太匹配"),
}


def _demo_group(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _demo_portal_visit(clinic: Clinic, desk: User, *, at) -> Visit | None:
    """A treatment two days ago for the demo portal member, whose survey is left unanswered, so
    the portal shows a survey waiting (the card on the home page, "My surveys")."""
    member = demo_portal_member(clinic)
    item = CatalogueItem.objects.filter(kind=CatalogueItem.Kind.TREATMENT, active=True).order_by("pk").first()
    if member is None or item is None:
        return None
    return checkout_complete(member=member, actor=desk, at=at, lines=[LineInput(item_id=item.pk, quantity=1)],
                             payments=[PaymentInput("wechat_pay", None)]).visit


def demo_feedback_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """About a year of survey answers (some detractors, whose follow-ups were worked, a few of them
    complaints), a survey waiting for the demo portal member's answer, follow-up rules after
    laser treatments, and open follow-ups: today's recalls,
    recent unhappy answers, treatment follow-ups and one written by hand. Answers go through the
    answer service, outcomes through the outcome service. Skipped when the clinic has surveys.
    Returns the answers made."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if Survey.objects.exists():
            return 0
        desk = User.objects.get(username="frontdesk")
        manager = User.objects.get(username="manager")
        practitioners = list(Practitioner.objects.order_by("pk"))
        now = timezone.now()
        open_visit = _demo_portal_visit(clinic, desk, at=now - timedelta(days=2, hours=3))
        visits = list(Visit.objects.filter(source=Visit.Source.CHECKOUT, visited_at__lt=now - timedelta(days=2),
                                           lines__item__kind=CatalogueItem.Kind.TREATMENT)
                      .distinct().order_by("visited_at", "id"))
        surveys = [Survey(visit=visit, member_id=visit.member_id, status=Survey.Status.SENT,
                          practitioner=rng.choice(practitioners) if practitioners else None,
                          due_at=visit.visited_at + timedelta(hours=24), sent_at=visit.visited_at + timedelta(hours=24))
                   for visit in visits if rng.random() < 0.8 or visit == open_visit]
        Survey.objects.bulk_create(surveys)
        answers = 0
        for survey in Survey.objects.select_related("member").order_by("due_at"):
            if rng.random() > 0.45 or survey.visit_id == getattr(open_visit, "pk", None):
                continue
            score = rng.choices(range(11), weights=DEMO_NPS_WEIGHTS)[0]
            group = _demo_group(score)
            rating = max(1, min(5, score // 2 + rng.choice((-1, 0, 0, 1)))) if survey.practitioner_id else None
            at = survey.sent_at + timedelta(hours=rng.randint(1, 30))
            tags = rng.sample(["service", "result", "environment", "price", "waiting"], k=rng.randint(0, 2))
            answer = survey_answer_submit(survey=survey, at=min(at, now), data=AnswerInput(
                nps_score=score, practitioner_rating=rating, tags=tuple(tags),
                comment=rng.choice(DEMO_COMMENTS[group]) if rng.random() < 0.5 else ""))
            answers += 1
            task = answer.followups.first()
            if task is None or now - answer.answered_at < timedelta(days=5):
                continue
            worked_at = answer.answered_at + timedelta(hours=rng.randint(2, 40))
            if rng.random() < 0.2:
                followup_outcome_record(task=task, actor=desk, kind="complaint", at=worked_at,
                                        notes=answer.comment or "对本次治疗效果不满意，要求医生复诊")
                if now - worked_at > timedelta(days=10):
                    complaint_close(case=task.complaints.get(), actor=manager, at=worked_at + timedelta(days=3),
                                    resolution="已安排医生免费复诊并致歉，顾客表示接受")
            else:
                if rng.random() < 0.3:
                    followup_outcome_record(task=task, actor=desk, kind="no_answer", at=worked_at)
                    worked_at += timedelta(days=1)
                followup_outcome_record(task=task, actor=desk, kind="reached", at=worked_at,
                                        notes="已致电了解情况，顾客接受解释")
        laser = Category.objects.filter(code="laser").first()
        if laser and not FollowUpRule.objects.exists():
            followup_rule_create(actor=None, category=laser, days_after=1)
            followup_rule_create(actor=None, category=laser, days_after=7)
        treatment_followups_create(now=now)
        recall_followups_create(now=now)
        member = Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk").first()
        if member and not FollowUpTask.objects.filter(kind=FollowUpTask.Kind.MANUAL).exists():
            followup_create(member=member, actor=desk, due_at=now + timedelta(days=1),
                            note="邀请参加下月会员沙龙", assigned_to=desk)
        return answers


# Package products of the demo: code, name, price, sessions, covered treatments, months, counted from.
DEMO_PACKAGES = (
    ("PKG-LSR10", "光子嫩肤10次卡", "9800.00", 10, ("LSR-01",), 12, "purchase"),
    ("PKG-FAC5", "皮肤管理5次卡（水光/清洁任选）", "4980.00", 5, ("FAC-01", "FAC-02"), 6, "first_use"),
)


def demo_packages_seed(clinic: Clinic, *, seed: int = 2026) -> int:
    """Two treatment packages, sold to a dozen members at the desk over the last months (the portal's
    demo member among them), with some sessions used since, all through the real checkout. Skipped
    when the clinic has packages. Returns the packages sold."""
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        if PackageProduct.objects.exists() or not Member.objects.exists():
            return 0
        desk = User.objects.get(username="frontdesk")
        items = {item.sku: item for item in CatalogueItem.objects.all()}
        products = []
        for sku, name, price, sessions, covered, months, start in DEMO_PACKAGES:
            if any(code not in items for code in covered):
                continue
            products.append(package_product_create(
                name=name, sku=sku, category=items[covered[0]].category, price=Decimal(price), sessions=sessions,
                treatments=[items[code] for code in covered], validity_months=months, validity_start=start))
        members = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk")[:40])
        buyers = members[:1] + rng.sample(members[1:], k=min(11, len(members) - 1))
        now = timezone.now()
        sold = 0
        for member in buyers:
            product = rng.choice(products)
            bought = now - timedelta(days=rng.randint(10, 150), hours=rng.randint(0, 6))
            checkout_complete(member=member, actor=desk, at=bought, lines=[LineInput(item_id=product.item_id)],
                              payments=[PaymentInput(rng.choice(("wechat_pay", "alipay", "bank_card")),
                                                     None)])
            sold += 1
            treatments = list(product.treatments.all())
            for n in range(rng.randint(0, product.sessions - 1)):
                at = bought + timedelta(days=7 * (n + 1), hours=1)
                if at >= now:
                    break
                checkout_complete(member=member, actor=desk, at=at, payments=[],
                                  lines=[LineInput(item_id=rng.choice(treatments).pk, package_id=product.pk)])
        return sold


def demo_customer_value_fit(clinic: Clinic) -> str:
    """The predictive CLV of panel 5 as the nightly job would fit it tonight, so the dashboard
    shows it (or why not) from the start. Done once per day: the fit is per cut-off day."""
    with schema_context(clinic.schema_name):
        now = timezone.now()
        fit, _made = customer_value_fit(now=now, today=local_date(now))
        return fit.status


DEMO_SEGMENTS = (
    ("沉睡客户", "90–180 天未到店，适合唤醒活动。", {"all": [{"kind": "lifecycle", "stages": ["dormant"]}]}),
    ("VIP 高消费", "近一年消费满 5000 元，或重要价值客户。", {"all": [{"any": [
        {"kind": "spend", "min": "5000", "days": 365}, {"kind": "rfm_cell", "cells": ["important_value"]}]}]}),
    ("本月生日", "生日在本月的会员（公历）。", {"all": [{"kind": "birthday_month", "relative": "current"}]}),
    ("新客 7 日回访", "首次到店在 7 天内。", {"all": [{"kind": "first_visit", "op": "within_days", "days": 7}]}),
    ("可短信营销的流失客户", "超过 180 天未到店且同意短信营销。", {"all": [
        {"kind": "lifecycle", "stages": ["lapsed"]}, {"kind": "consent", "purpose": "marketing_sms"}]}),
)


def demo_segments_seed(clinic: Clinic) -> int:
    """Tonight's RFM scores and lifecycle stages, and a few saved segments (once each)."""
    with schema_context(clinic.schema_name):
        member_scores_refresh(end=local_date(timezone.now()) - timedelta(days=1))
        owner = User.objects.filter(username="owner").first()
        made = 0
        for name, description, conditions in DEMO_SEGMENTS:
            if not Segment.objects.filter(name=name).exists():
                segment_create(actor=owner, name=name, description=description, conditions=conditions)
                made += 1
        return made


def demo_recommendations_learn(clinic: Clinic) -> None:
    """The recommendations' nightly learning, so member pages show suggestions from the start."""
    with schema_context(clinic.schema_name):
        recommendations_learn()


def demo_seed(*, members: int = DEMO_MEMBERS) -> tuple[Clinic, bool]:
    """Everything above; returns the demo clinic and whether it was created now."""
    demo_operator_ensure()
    clinic, created = demo_clinic_ensure()
    demo_staff_ensure(clinic)
    demo_members_seed(clinic, count=members)
    demo_schedule_seed(clinic)
    demo_portal_seed(clinic)
    demo_rewards_seed(clinic)
    demo_history_seed(clinic)
    demo_feedback_seed(clinic)
    demo_packages_seed(clinic)
    demo_stored_value_seed(clinic)
    demo_customer_value_fit(clinic)
    demo_segments_seed(clinic)
    demo_campaigns_seed(clinic)
    demo_recommendations_learn(clinic)
    return clinic, created
