"""Front-desk pages at 100,000 members: each page's server time (the whole Django request,
middleware and template included, through the test client) for a member with a real history,
and the appointment pages for a day of 80 bookings across ten practitioners. The member portal's
pages are timed for the same member, signed in with a member session, with a week of surveys
(some waiting, some answered)."""

import os
import time
from datetime import time as datetime_time
from datetime import timedelta
from decimal import Decimal
from statistics import median, quantiles

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.roles import Role
from accounts.services import staff_create
from appointments.models import ResourceType
from appointments.schedule import (
    Period,
    location_create,
    practitioner_create,
    resource_create,
    resource_type_create,
    treatment_requirements_set,
    working_hours_set,
)
from appointments.services import booking_create
from bench.clinic_data import drop_clinic, fresh_clinic, members_fill
from bench.figures import Figure
from checkout.services import LineInput, PaymentInput, checkout_complete, checkout_quote
from clinics.context import clinic_host
from feedback.models import Survey
from feedback.services import AnswerInput, survey_answer_submit, surveys_plan, surveys_send_due
from members.models import Member
from members.services import medical_profile_update
from messaging.services import messaging_settings_update
from points.adjustments import points_adjust
from points.coupons import coupon_issue, coupon_template_create
from points.ledger import Source, account_for, ledger_credit
from points.models import Entry
from points.rewards import reward_create
from points.rules import local_date, local_midnight
from portal.auth import COOKIE_NAME, member_session_create
from visits.services import catalogue_item_create, category_create

# BENCH_PAGES_SCALE=0.01 runs the same at a hundredth of the members, to try the benchmark out;
# BENCH_PAGES_ONLY=portal times only the pages whose name starts with it.
SCALE = float(os.environ.get("BENCH_PAGES_SCALE", "1"))
ONLY = os.environ.get("BENCH_PAGES_ONLY", "")
MEMBERS = int(100_000 * SCALE)
MEMBERS_WITH_EXPIRING_POINTS = max(10, int(1_000 * SCALE))
SURVEYED_VISITS = 6
HISTORY_VISITS = 40
RUNS = 30
PRACTITIONERS = 10
BOOKINGS_PER_PRACTITIONER = 8
TARGET_MS = 150.0
PORTAL_TARGET_MS = 100.0


def _history(member: Member, actor, items) -> int:
    """Visits, points, a redemption and a pending adjustment for `member`; returns a visit id."""
    visit_id = 0
    for n in range(HISTORY_VISITS):
        lines = [LineInput(item_id=items[n % len(items)].pk, quantity=1)]
        due = checkout_quote(member=member, actor=actor, lines=lines).total
        visit_id = checkout_complete(member=member, actor=actor, lines=lines,
                                     payments=[PaymentInput(method="cash", amount=due)]).visit.pk
    points_adjust(member=member, amount=5000, reason_code="goodwill", note="bench", actor=actor)
    medical_profile_update(member=member, actor=actor, allergies="青霉素")
    return visit_id


def _expiring_points(count: int) -> None:
    soon = timezone.now() + timedelta(days=10)
    for member in Member.objects.order_by("pk")[100:100 + count]:
        with transaction.atomic():
            ledger_credit(account=account_for(member, lock=True), amount=300, kind=Entry.Kind.EARN,
                          source=Source("bench"), actor=None, expires_at=soon)


def _schedule(member: Member, actor) -> tuple[int, int, str]:
    """A branch with a room per practitioner and a laser machine, ten practitioners working
    every day 09:00-19:00, and a full day tomorrow (eight bookings each), two of them for
    `member`. Returns a booking id, the treatment id and tomorrow's date."""
    location = location_create(name="静安店")
    room_type = resource_type_create(name="治疗室", kind=ResourceType.Kind.ROOM)
    laser_type = resource_type_create(name="激光仪", kind=ResourceType.Kind.DEVICE)
    for n in range(PRACTITIONERS):
        resource_create(location=location, resource_type=room_type, name=f"{n + 1} 号房")
    resource_create(location=location, resource_type=laser_type, name="皮秒激光")
    category = category_create(name="医美", code="aesthetic")
    treatment = catalogue_item_create(kind="treatment", name="水光针", sku="T-1", category=category,
                                      price=Decimal("1680.00"), duration_minutes=45, buffer_minutes=15)
    treatment_requirements_set(treatment=treatment, resource_types=[room_type])
    practitioners = []
    for n in range(PRACTITIONERS):
        user = staff_create(role=Role.PRACTITIONER, username=f"dr{n}", email=f"dr{n}@bench.example.com",
                            full_name=f"医生{n}", password="Bench-pass-2026")
        practitioner = practitioner_create(user=user, treatments=[treatment])
        working_hours_set(practitioner=practitioner, periods=[
            Period(location_id=location.pk, weekday=day, starts=datetime_time(9), ends=datetime_time(19))
            for day in range(7)])
        practitioners.append(practitioner)
    day = local_date(timezone.now()) + timedelta(days=1)
    members = list(Member.objects.order_by("pk")[1:1 + PRACTITIONERS * BOOKINGS_PER_PRACTITIONER])
    booking_id = 0
    for n, practitioner in enumerate(practitioners):
        for hour in range(BOOKINGS_PER_PRACTITIONER):
            who = member if n == 0 and hour < 2 else members[n * BOOKINGS_PER_PRACTITIONER + hour]
            booking = booking_create(member=who, treatment=treatment, practitioner=practitioner, actor=actor,
                                     starts_at=local_midnight(day) + timedelta(hours=9 + hour))
            booking_id = booking_id or booking.pk
    return booking_id, treatment.pk, day.isoformat()


def _surveys(member: Member, actor, treatment_id: int) -> None:
    """Treatments over the last week whose surveys were sent a day after each, half of them
    answered: the member's surveys page and the home card have something to show."""
    messaging_settings_update(actor=actor, quiet_hours_start=datetime_time(0), quiet_hours_end=datetime_time(0))
    lines = [LineInput(item_id=treatment_id, quantity=1)]
    for n in range(SURVEYED_VISITS):
        sent_at = timezone.now() - timedelta(days=n + 1)
        due = checkout_quote(member=member, actor=actor, lines=lines).total
        visit = checkout_complete(member=member, actor=actor, lines=lines, at=sent_at - timedelta(hours=24),
                                  payments=[PaymentInput(method="cash", amount=due)]).visit
        surveys_plan(now=sent_at)
        surveys_send_due(now=sent_at)
        if n % 2:
            survey_answer_submit(survey=Survey.objects.get(visit=visit), at=sent_at + timedelta(hours=2),
                                 data=AnswerInput(nps_score=9))


def _message_log() -> None:
    """One sent birthday message per member, over the last 100 days: a clinic's message log."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO messaging_message (member_id, recipient, channel, purpose, marketing, language, subject,
                                           body, status, skip_reason, error, attempts, backend, provider_id,
                                           created_at, sent_at)
            SELECT id, phone, 'sms', 'birthday_offer', true, 'zh-hans', '', '生日快乐，' || name, 'sent', '', '',
                   1, 'log', '', now() - (id % 100) * interval '1 day', now() - (id % 100) * interval '1 day'
            FROM members_member""")
        cursor.execute("ANALYZE messaging_message")


def _time(client: Client, method: str, url: str, data: dict | None = None, **headers) -> list[float]:
    send = client.post if method == "POST" else client.get
    send(url, data, **headers)
    timings = []
    for _run in range(RUNS):
        started = time.perf_counter()
        response = send(url, data, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return timings


def pages_prepare(clinic) -> tuple[Client, dict]:
    """Fill `clinic` and return a logged-in manager's client and the pages to time."""
    members_fill(clinic, MEMBERS)
    with schema_context(clinic.schema_name):
        manager = staff_create(role=Role.MANAGER, username="mgr", email="mgr@bench.example.com",
                               full_name="经理", password="Bench-pass-2026")
        category = category_create(name="护肤", code="skincare")
        items = [catalogue_item_create(kind="product", name=f"产品{n}", sku=f"P-{n}", category=category,
                                       price=Decimal(200 + 50 * n)) for n in range(30)]
        reward_create(name="免费面霜", kind="product", points_cost=800, item=items[0])
        voucher = coupon_template_create(name="百元券", kind="fixed", amount=Decimal("100"), valid_days=60)
        voucher_reward = reward_create(name="百元券", kind="coupon", points_cost=500, coupon_template=voucher)
        member = Member.objects.order_by("pk").first()
        coupon_id = coupon_issue(member=member, template=voucher, source="manual", actor=manager).pk
        visit_id = _history(member, manager, items)
        _expiring_points(MEMBERS_WITH_EXPIRING_POINTS)
        booking_id, treatment_id, day = _schedule(member, manager)
        _surveys(member, manager, treatment_id)
        _message_log()
        client = Client(HTTP_HOST=clinic_host(clinic))
        client.force_login(manager)
        _session, token = member_session_create(member=member, user_agent="bench")
    member_cookie = {"HTTP_COOKIE": f"{COOKIE_NAME}={token}"}  # the member's session only, no staff one
    quote = {"lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0", "payments-TOTAL_FORMS": "3",
             "payments-INITIAL_FORMS": "0", "lines-0-item": str(items[3].pk), "lines-0-quantity": "2",
             "points_to_use": "0"}
    today = local_date(timezone.now())
    today, week_ago = today.isoformat(), (today - timedelta(days=7)).isoformat()
    pages = {
        "today": ("GET", reverse("frontdesk:home"), None, {}),
        "member search (page)": ("GET", reverse("frontdesk:member_search"), {"q": member.name[:2]}, {}),
        "member search (type-ahead)": ("GET", reverse("frontdesk:member_search"), {"q": member.phone[-4:]},
                                       {"HTTP_HX_REQUEST": "true"}),
        "register member (form)": ("GET", reverse("frontdesk:member_register"), None, {}),
        "member page": ("GET", reverse("frontdesk:member_detail", args=[member.pk]), None, {}),
        "medical details": ("GET", reverse("frontdesk:member_medical", args=[member.pk]), None, {}),
        "edit profile (form)": ("GET", reverse("frontdesk:member_edit", args=[member.pk]), None, {}),
        "edit medical profile (form)": ("GET", reverse("frontdesk:member_medical_edit", args=[member.pk]), None, {}),
        "merge a duplicate (search)": ("GET", reverse("frontdesk:member_merge_search", args=[member.pk]),
                                       {"q": member.phone[-4:]}, {}),
        "checkout (form)": ("GET", reverse("frontdesk:checkout", args=[member.pk]), None, {}),
        "checkout totals (quote)": ("POST", reverse("frontdesk:checkout_quote", args=[member.pk]), quote, {}),
        "receipt": ("GET", reverse("frontdesk:receipt", args=[visit_id]), None, {}),
        "refund (form)": ("GET", reverse("frontdesk:refund", args=[visit_id]), None, {}),
        "rewards": ("GET", reverse("frontdesk:rewards", args=[member.pk]), None, {}),
        "adjust points (form)": ("GET", reverse("frontdesk:adjust", args=[member.pk]), None, {}),
        "approval queue": ("GET", reverse("frontdesk:approvals"), None, {}),
        "day calendar (practitioners)": ("GET", reverse("frontdesk:calendar"), {"date": day}, {}),
        "day calendar (rooms and devices)": ("GET", reverse("frontdesk:calendar"), {"date": day, "by": "resource"},
                                             {}),
        "week calendar (a practitioner)": ("GET", reverse("frontdesk:calendar_week"), {"date": day}, {}),
        "leave and closures": ("GET", reverse("frontdesk:schedule_exceptions"), None, {}),
        "booking page": ("GET", reverse("frontdesk:booking_detail", args=[booking_id]), None, {}),
        "member's messages": ("GET", reverse("frontdesk:member_messages", args=[member.pk]), None, {}),
        "message log (settings), newest": ("GET", reverse("manager:message_log"), None, {}),
        "message log (settings), a week": ("GET", reverse("manager:message_log"),
                                           {"created_from": week_ago, "created_until": today}, {}),
        "message templates (settings)": ("GET", reverse("manager:message_templates"), None, {}),
        "birthday offer (settings)": ("GET", reverse("manager:birthday_offer"), None, {}),
        "book (form)": ("GET", reverse("frontdesk:booking_new"), {"member": member.pk}, {}),
        "free times (slot picker)": ("GET", reverse("frontdesk:booking_slots"),
                                     {"treatment": treatment_id, "day": day}, {"HTTP_HX_REQUEST": "true"}),
        "portal: home": ("GET", reverse("portal:home"), None, member_cookie),
        "portal: statement": ("GET", reverse("portal:statement"), None, member_cookie),
        "portal: statement, earned, page 2": ("GET", reverse("portal:statement"), {"kind": "earned", "page": 2},
                                              member_cookie),
        "portal: me": ("GET", reverse("portal:profile"), None, member_cookie),
        "portal: my details (form)": ("GET", reverse("portal:profile_details"), None, member_cookie),
        "portal: messages and consent": ("GET", reverse("portal:profile_consent"), None, member_cookie),
        "portal: my data and privacy": ("GET", reverse("portal:profile_privacy"), None, member_cookie),
        "portal: sign in (form)": ("GET", reverse("portal:signin"), None, {"HTTP_COOKIE": ""}),
        "portal: points mall": ("GET", reverse("portal:mall"), None, member_cookie),
        "portal: redeem (confirm)": ("GET", reverse("portal:mall_confirm", args=[voucher_reward.pk]), None,
                                     member_cookie),
        "portal: wallet": ("GET", reverse("portal:wallet"), None, member_cookie),
        "portal: wallet, history": ("GET", reverse("portal:wallet"), {"tab": "history"}, member_cookie),
        "portal: coupon with QR code": ("GET", reverse("portal:wallet_coupon", args=[coupon_id]), None,
                                        member_cookie),
        "portal: appointments": ("GET", reverse("portal:appointments"), None, member_cookie),
        "portal: appointment": ("GET", reverse("portal:appointment", args=[booking_id]), None, member_cookie),
        "portal: book, treatments": ("GET", reverse("portal:book"), None, member_cookie),
        "portal: book, free times": ("GET", reverse("portal:book"), {"treatment": treatment_id, "day": day},
                                     member_cookie),
        "portal: referral": ("GET", reverse("portal:referral"), None, member_cookie),
        "portal: my surveys": ("GET", reverse("portal:surveys"), None, member_cookie),
    }
    return client, {name: page for name, page in pages.items() if name.startswith(ONLY)}


def main() -> list[Figure]:
    clinic = fresh_clinic("benchpages")
    try:
        client, pages = pages_prepare(clinic)
        figures = []
        for name, (method, url, data, headers) in pages.items():
            timings = _time(client, method, url, data, **headers)
            target = PORTAL_TARGET_MS if name.startswith("portal") else TARGET_MS
            figures.append(Figure(f"{name}, p95 at {MEMBERS:,} members", quantiles(timings, n=20)[-1], unit="ms",
                                  target=target))
            figures.append(Figure(f"{name}, median", median(timings), unit="ms", note="reference"))
        return figures
    finally:
        drop_clinic(clinic)
