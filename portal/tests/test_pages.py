import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from appointments.services import booking_create
from appointments.tests.conftest import local, upcoming_monday, world  # noqa: F401 - the fixture
from clinics.context import clinic_host
from members.models import ConsentRecord, Member, MemberEvent
from messaging.models import Message, Purpose
from messaging.services import message_send
from points.coupons import coupon_template_create
from points.ledger import Source, account_for, ledger_credit
from points.models import Entry
from points.rules import clinic_zone, local_date
from portal.models import ErasureRequest, MemberSession, PortalPreference
from portal.selectors import STATEMENT_PAGE_SIZE
from portal.services import portal_settings_update
from tiers.selectors import tier_ladder, tiers_list

pytestmark = pytest.mark.django_db


ADJUSTMENT = Source("adjustment", 1)


@pytest.fixture
def portal_client(portal_client):
    """Pages in English (the person's language cookie), so texts can be asserted as written."""
    portal_client.cookies["django_language"] = "en"
    return portal_client


def _credit(member: Member, amount: int, *, at: datetime | None = None, expires_at: datetime | None = None) -> Entry:
    account = account_for(member, lock=True)
    return ledger_credit(account=account, amount=amount, kind=Entry.Kind.ADJUST, source=ADJUSTMENT, actor=None,
                         at=at, expires_at=expires_at)


def test_home_shows_balance_points_expiring_within_60_days_with_their_last_local_day(portal_member, portal_client):
    zone = clinic_zone()
    today = local_date(timezone.now())
    soon = datetime.combine(today + timedelta(days=20), time.min, tzinfo=zone)  # midnight: last day is the 19th
    later = datetime.combine(today + timedelta(days=90), time.min, tzinfo=zone)
    _credit(portal_member, 120, expires_at=soon)
    _credit(portal_member, 80, expires_at=later)
    response = portal_client.get(reverse("portal:home"))
    html = response.content.decode()
    assert response.status_code == 200
    balance = html.split('id="points-balance">')[1].split("<")[0]
    assert balance == str(Member.objects.get(pk=portal_member.pk).accounts.get().balance)
    last_day = today + timedelta(days=19)
    expiring = html.split('id="expiring"')[1].split("</section>")[0]
    assert "120 points" in expiring
    assert "80 points" not in expiring
    assert f"Use by {last_day:%a} {last_day.day} {last_day:%b %Y}" in expiring


def test_home_shows_the_tier_the_next_one_and_what_it_takes(portal_client):
    ladder = tier_ladder(tiers_list())
    html = portal_client.get(reverse("portal:home")).content.decode()
    assert f'id="tier-name">{ladder[0].name}<' in html
    next_tier = ladder[1]
    tier_next = html.split('id="tier-next">')[1].split("</p>")[0]
    assert next_tier.name in tier_next
    if next_tier.min_spend:
        assert f"¥{next_tier.min_spend} more spend" in tier_next
    assert 'aria-valuenow="0"' in html


def test_home_counts_usable_coupons_and_shows_the_next_appointment(world, clinic, portal_client_for):  # noqa: F811
    member = world.member
    template = coupon_template_create(actor=None, name="护理券", kind="fixed", amount=Decimal("50.00"),
                                      valid_days=30)
    from points.coupons import coupon_issue
    coupon_issue(member=member, template=template, source="manual", actor=None)
    starts = local(upcoming_monday(), 11)
    booking_create(member=member, treatment=world.facial, starts_at=starts, actor=None)
    client = portal_client_for(member)
    html = client.get(reverse("portal:home")).content.decode()
    assert 'id="coupons-count">1<' in html
    appointment = html.split('id="next-appointment"')[1].split("</section>")[0]
    assert world.facial.name in appointment


@pytest.fixture
def berlin_clinic(clinic):
    """The test clinic in Europe/Berlin (its pages load the clinic per request)."""
    from clinics.models import Clinic
    original = clinic.time_zone
    Clinic.objects.filter(pk=clinic.pk).update(time_zone="Europe/Berlin")
    clinic.time_zone = "Europe/Berlin"
    yield clinic
    Clinic.objects.filter(pk=clinic.pk).update(time_zone=original)
    from django.db import connection
    connection.tenant.time_zone = clinic.time_zone = original


def test_home_shows_the_next_appointment_at_the_clinics_wall_clock(world, berlin_clinic, portal_client_for):  # noqa: F811
    member = world.member
    starts = datetime.combine(upcoming_monday() + timedelta(days=7), time(11, 0), tzinfo=berlin_clinic.zone)
    booking_create(member=member, treatment=world.facial, starts_at=starts, actor=None)
    client = portal_client_for(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    appointment = client.get(reverse("portal:home")).content.decode().split('id="next-appointment"')[1] \
        .split("</section>")[0]

    assert f"{starts:%a} {starts.day} {starts:%b} 11:00" in appointment  # the clinic's wall clock, "Mon 21 Dec 11:00"
    assert starts.astimezone(berlin_clinic.zone).hour != starts.astimezone(timezone.get_default_timezone()).hour


def test_statement_pages_filters_and_reads_in_the_members_language(portal_member, portal_client):
    for n in range(STATEMENT_PAGE_SIZE + 3):
        _credit(portal_member, n + 1)
    account = account_for(portal_member, lock=True)
    from points.ledger import ledger_debit
    ledger_debit(account=account, amount=5, kind=Entry.Kind.REDEEM, source=Source("reward", 1), actor=None,
                 reason="玫瑰面膜")
    first = portal_client.get(reverse("portal:statement")).content.decode()
    assert first.count('class="p-row entry"') == STATEMENT_PAGE_SIZE
    assert "Page 1 of 2" in first
    assert "Exchanged for a reward: 玫瑰面膜" in first
    second = portal_client.get(reverse("portal:statement"), {"page": 2}).content.decode()
    assert second.count('class="p-row entry"') == 4
    spent = portal_client.get(reverse("portal:statement"), {"kind": "spent"}).content.decode()
    assert spent.count('class="p-row entry"') == 1
    assert "-5" in spent
    PortalPreference.objects.create(member=portal_member, language="zh-hans")
    zh = portal_client.get(reverse("portal:statement"), {"kind": "spent"}).content.decode()
    assert "积分明细" in zh
    with translation.override("zh-hans"):
        from django.utils.translation import gettext
        assert gettext("Exchanged for a reward: %(name)s") % {"name": "玫瑰面膜"} in zh


def test_statement_date_range_is_in_local_days(portal_member, portal_client):
    zone = clinic_zone()
    day = local_date(timezone.now()) - timedelta(days=10)
    _credit(portal_member, 11, at=datetime.combine(day, time(0, 30), tzinfo=zone))
    _credit(portal_member, 22, at=datetime.combine(day - timedelta(days=1), time(23, 30), tzinfo=zone))
    html = portal_client.get(reverse("portal:statement"),
                             {"date_from": day.isoformat(), "date_until": day.isoformat()}).content.decode()
    assert html.count('class="p-row entry"') == 1
    assert "+11" in html


def test_statement_dates_are_the_clinics_local_days_in_any_time_zone(portal_member, portal_client, berlin_clinic):
    day = local_date(timezone.now()) - timedelta(days=10)
    # 23:30 in Berlin is already the next day in Shanghai (the server's default zone).
    late = datetime.combine(day, time(23, 30), tzinfo=berlin_clinic.zone)
    assert late.astimezone(timezone.get_default_timezone()).date() != day
    _credit(portal_member, 11, at=late)

    html = portal_client.get(reverse("portal:statement"),
                             {"date_from": day.isoformat(), "date_until": day.isoformat()}).content.decode()

    assert html.count('class="p-row entry"') == 1
    after = day + timedelta(days=1)
    shown, wrong = f"{day:%a} {day.day} {day:%b} {day.year}", f"{after:%a} {after.day} {after:%b} {after.year}"
    assert shown in html and wrong not in html


def test_statement_bad_filters_are_a_clear_400(portal_client):
    response = portal_client.get(reverse("portal:statement"), {"date_from": "2026-05-02", "date_until": "2026-05-01"})
    assert response.status_code == 400
    assert "The first day comes after the last day." in response.content.decode()
    response = portal_client.get(reverse("portal:statement"), {"kind": "everything-else", "page": "-1"})
    assert response.status_code == 400


def test_member_edits_their_details_but_not_their_phone(portal_member, portal_client):
    response = portal_client.post(reverse("portal:profile_details"), {
        "name": "林美美", "gender": "female", "birthday": "1990-05-01", "email": "NEW@example.com",
        "phone": "+8613999999999"})
    assert response.status_code == 302
    portal_member.refresh_from_db()
    assert (portal_member.name, portal_member.email, str(portal_member.birthday)) == (
        "林美美", "new@example.com", "1990-05-01")
    assert portal_member.phone == "+8613800138000"
    event = MemberEvent.objects.filter(member=portal_member, kind="updated").get()
    assert event.actor is None and event.detail["fields"] == ["birthday", "email", "gender", "name"]


def test_bad_details_are_refused_in_the_form(portal_member, portal_client):
    response = portal_client.post(reverse("portal:profile_details"), {"name": "", "gender": "female",
                                                                      "email": "not-an-email"})
    assert response.status_code == 400
    portal_member.refresh_from_db()
    assert portal_member.name == "林小美"


def test_the_clinic_can_keep_details_at_the_front_desk(portal_member, portal_client):
    portal_settings_update(actor=None, profile_edit_enabled=False)
    response = portal_client.post(reverse("portal:profile_details"), {"name": "别名", "gender": "female"})
    assert response.status_code == 403
    portal_member.refresh_from_db()
    assert portal_member.name == "林小美"


def test_language_choice_is_the_members_own(portal_member, portal_client):
    response = portal_client.post(reverse("portal:profile_language"), {"language": "en"})
    assert response.status_code == 302
    assert PortalPreference.objects.get(member=portal_member).language == "en"
    assert portal_client.get(reverse("portal:home"))["Content-Language"] == "en"
    portal_client.post(reverse("portal:profile_language"), {"language": "zh-hans"})
    assert portal_client.get(reverse("portal:home"))["Content-Language"] == "zh-hans"
    assert portal_client.post(reverse("portal:profile_language"), {"language": "xx"}).status_code == 302
    assert PortalPreference.objects.get(member=portal_member).language == "zh-hans"


def test_consent_changes_are_recorded_with_the_portal_as_channel(portal_member, portal_client):
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "marketing_sms", "granted": "1"})
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "marketing_sms", "granted": "0"})
    records = list(ConsentRecord.objects.filter(member=portal_member, purpose="marketing_sms")
                   .order_by("recorded_at", "id").values_list("granted", "channel", "recorded_by"))
    assert records == [(True, "portal", None), (False, "portal", None)]
    response = portal_client.post(reverse("portal:profile_consent"), {"purpose": "data_processing", "granted": "0"})
    assert response.status_code == 400
    assert not ConsentRecord.objects.filter(member=portal_member, purpose="data_processing", granted=False).exists()


def test_turning_off_appointment_reminders_stops_them_and_nothing_else(portal_member, portal_client):
    html = portal_client.get(reverse("portal:profile_consent")).content.decode()
    assert 'data-purpose="notice_appointments" data-granted="yes"' in html
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "notice_appointments", "granted": "0"})
    reminder = message_send(member=portal_member, purpose=Purpose.APPOINTMENT_REMINDER)
    assert reminder.status == Message.Status.SKIPPED
    assert reminder.skip_reason == Message.SkipReason.OPTED_OUT
    warning = message_send(member=portal_member, purpose=Purpose.POINTS_EXPIRY_WARNING)
    assert warning.status == Message.Status.QUEUED


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_see_the_portal_consent_on_the_member_page_with_the_portal_as_source(
        portal_member, portal_client, staff_client, front_desk, language):
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "marketing_email", "granted": "1"})
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "notice_points_expiry", "granted": "0"})
    desk = staff_client(front_desk)
    desk.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    html = desk.get(reverse("frontdesk:member_detail", args=[portal_member.pk])).content.decode()

    with translation.override(language):
        portal, granted, withdrawn = (str(ConsentRecord.Channel.PORTAL.label), translation.gettext("Granted"),
                                      translation.gettext("Withdrawn"))
        front_desk_label = str(ConsentRecord.Channel.FRONT_DESK.label)
    assert portal != front_desk_label
    rows = {purpose: html.split(f'<tr data-purpose="{purpose}"')[1].split("</tr>")[0]
            for purpose in ("marketing_email", "notice_points_expiry", "data_processing")}
    assert 'data-granted="yes"' in rows["marketing_email"] and granted in rows["marketing_email"]
    assert portal in rows["marketing_email"]
    assert 'data-granted="no"' in rows["notice_points_expiry"] and withdrawn in rows["notice_points_expiry"]
    assert portal in rows["notice_points_expiry"]
    # The consent given at registration (front desk) keeps its own source.
    assert portal not in rows["data_processing"] and front_desk_label in rows["data_processing"]


def test_download_my_data_is_the_export_staff_run(portal_member, portal_client):
    _credit(portal_member, 42)
    response = portal_client.post(reverse("portal:profile_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(response.content)
    assert data["name"] == "林小美" and data["phone"] == "+8613800138000"
    assert "medical" not in data
    assert any(entry["amount"] == 42 for entry in data["points"]["entries"]) if "points" in data else True
    event = MemberEvent.objects.get(member=portal_member, kind="exported")
    assert event.actor is None and event.detail == {"medical": False, "by": "member"}


def test_erasure_request_is_seen_by_staff_who_act_on_it(portal_member, portal_client, staff_client, manager):
    response = portal_client.post(reverse("portal:profile_erasure"), {"reason": "搬家了"})
    assert response.status_code == 400  # the confirmation box is required
    assert not ErasureRequest.objects.exists()
    sent = portal_client.post(reverse("portal:profile_erasure"), {"reason": "搬家了", "confirm": "on"})
    assert sent.status_code == 302
    again = portal_client.post(reverse("portal:profile_erasure"), {"confirm": "on"})
    assert again.status_code == 400
    assert ErasureRequest.objects.count() == 1
    html = portal_client.get(reverse("portal:profile_privacy")).content.decode()
    assert 'data-status="pending"' in html

    desk = staff_client(manager)
    listing = desk.get(reverse("manager:erasure_requests")).content.decode()
    assert "林小美" in listing and "搬家了" in listing
    request = ErasureRequest.objects.get()
    refused = desk.post(reverse("manager:erasure_request_decide", args=[request.pk]), {"decision": "erase", "note": ""})
    assert refused.status_code == 400
    done = desk.post(reverse("manager:erasure_request_decide", args=[request.pk]),
                     {"decision": "erase", "note": "Identity checked by phone"})
    assert done.status_code == 302
    request.refresh_from_db()
    portal_member.refresh_from_db()
    assert request.status == "done" and request.decided_by == manager and request.decided_at
    assert portal_member.status == Member.Status.ERASED and portal_member.phone is None
    assert not MemberSession.objects.filter(member=portal_member, revoked_at__isnull=True).exists()
    assert portal_client.get(reverse("portal:home")).status_code == 302


def test_a_declined_erasure_request_shows_the_reason_to_the_member(portal_member, portal_client, staff_client, manager):
    portal_client.post(reverse("portal:profile_erasure"), {"confirm": "on"})
    request = ErasureRequest.objects.get()
    staff_client(manager).post(reverse("manager:erasure_request_decide", args=[request.pk]),
                               {"decision": "decline", "note": "未结清的预付款"})
    html = portal_client.get(reverse("portal:profile_privacy")).content.decode()
    assert 'data-status="declined"' in html and "未结清的预付款" in html
    assert 'id="erasure-button"' in html


def test_front_desk_cannot_decide_erasure_requests(portal_client, staff_client, front_desk):
    portal_client.post(reverse("portal:profile_erasure"), {"confirm": "on"})
    request = ErasureRequest.objects.get()
    response = staff_client(front_desk).post(reverse("manager:erasure_request_decide", args=[request.pk]),
                                             {"decision": "erase", "note": "x"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"


def _join(client: Client, **data):
    form = {"name": "新会员", "phone": "13700001111", "data_processing": "on", **data}
    return client.post(reverse("portal:join"), form)


def test_join_is_closed_unless_the_clinic_opens_it(clinic):
    client = Client(HTTP_HOST=clinic_host(clinic))
    assert client.get(reverse("portal:join")).status_code == 404
    assert _join(client).status_code == 404
    assert not Member.objects.filter(phone="+8613700001111").exists()
    assert 'id="join-link"' not in client.get(reverse("portal:signin")).content.decode()


def test_join_registers_as_the_front_desk_does_and_sends_a_code(clinic, portal_member, manager, staff_client):
    staff_client(manager).post(reverse("manager:portal_settings"), {"join_enabled": "on",
                                                                   "profile_edit_enabled": "on"})
    client = Client(HTTP_HOST=clinic_host(clinic))
    form = client.get(reverse("portal:join"), {"ref": portal_member.referral_code}).content.decode()
    assert f'value="{portal_member.referral_code}"' in form
    response = _join(client, referral_code=portal_member.referral_code, marketing_sms="on")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:verify"))
    member = Member.objects.get(phone="+8613700001111")
    assert member.source == Member.Source.REFERRAL and member.referred_by == portal_member
    assert member.member_number.startswith("M")
    consents = dict(ConsentRecord.objects.filter(member=member).values_list("purpose", "channel"))
    assert consents == {"data_processing": "portal", "marketing_sms": "portal"}
    assert Message.objects.filter(member=member, purpose="sign_in_code").exists()
    assert MemberEvent.objects.filter(member=member, kind="registered").exists()


def test_join_needs_consent_and_does_not_reveal_existing_members(clinic, portal_member):
    portal_settings_update(actor=None, join_enabled=True)
    client = Client(HTTP_HOST=clinic_host(clinic))
    client.cookies["django_language"] = "en"
    refused = _join(client, data_processing="")
    assert refused.status_code == 400
    assert not Member.objects.filter(phone="+8613700001111").exists()
    existing = _join(client, phone="13800138000", name="冒名")
    new = _join(client, phone="13700002222", name="真新人")
    assert existing.status_code == new.status_code == 302
    assert existing["Location"].split("?")[0] == new["Location"].split("?")[0]
    assert Member.objects.filter(phone="+8613800138000").get().name == "林小美"
    assert Message.objects.filter(member=portal_member, purpose="sign_in_code").exists()
    bad_code = _join(client, phone="13700003333", referral_code="NOPE99")
    assert bad_code.status_code == 400
    assert "No member has this referral code." in bad_code.content.decode()


def test_manifest_and_service_worker(clinic, anon_client):
    manifest = anon_client.get(reverse("portal:manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    data = json.loads(manifest.content)
    assert data["start_url"] == "/m/" and data["scope"] == "/m/"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert anon_client.get(icon["src"]).status_code == 200
    worker = anon_client.get(reverse("portal:service_worker"))
    assert worker["Service-Worker-Allowed"] == "/m/"
    body = worker.content.decode()
    assert "url.pathname.startsWith(STATIC_PREFIX)" in body
    assert 'const STATIC_PREFIX = "/static/"' in body


@pytest.mark.parametrize("name", ["portal:home", "portal:statement", "portal:profile", "portal:profile_details",
                                  "portal:profile_consent", "portal:profile_privacy", "portal:mall", "portal:wallet",
                                  "portal:appointments", "portal:referral", "portal:surveys"])
def test_each_page_takes_the_same_queries_however_long_the_history(portal_member, portal_client, make_member, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from points.coupons import coupon_issue
    from points.rewards import reward_create

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert portal_client.get(reverse(name)).status_code == 200
        return len(captured)

    template = coupon_template_create(actor=None, name="护理券", kind="fixed", amount=Decimal("50.00"),
                                      valid_days=30)
    reward_create(name="五十元券", kind="coupon", points_cost=100, coupon_template=template)
    coupon_issue(member=portal_member, template=template, source="manual", actor=None)
    make_member(name="朋友甲", referral_code=portal_member.referral_code)
    _credit(portal_member, 10)
    few = queries()
    for n in range(60):
        _credit(portal_member, n + 1, expires_at=timezone.now() + timedelta(days=n + 1))
    for n in range(8):
        coupon_issue(member=portal_member, template=template, source="manual", actor=None)
        make_member(name=f"朋友{n}", referral_code=portal_member.referral_code)
        reward_create(name=f"奖励{n}", kind="coupon", points_cost=100 + n, coupon_template=template)
    portal_client.post(reverse("portal:profile_consent"), {"purpose": "marketing_sms", "granted": "1"})
    portal_client.post(reverse("portal:profile_erasure"), {"confirm": "on"})
    many = queries()
    assert many == few
    assert many <= 20


@pytest.mark.parametrize("name", ["portal:home", "portal:statement", "portal:profile", "portal:profile_details",
                                  "portal:profile_consent", "portal:profile_privacy", "portal:mall", "portal:wallet",
                                  "portal:appointments", "portal:referral", "portal:surveys", "portal:signin",
                                  "portal:join"])
def test_every_asset_of_a_portal_page_is_served_by_the_app(portal_client, clinic, name):
    import re

    portal_settings_update(actor=None, join_enabled=True)
    client = Client(HTTP_HOST=clinic_host(clinic)) if name in ("portal:signin", "portal:join") else portal_client
    response = client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link|img|source|use|image)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    assert any("/static/" in url for url in assets)
    assert [url for url in assets if not url.startswith("/") or url.startswith("//")] == []
