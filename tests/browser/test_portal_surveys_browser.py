"""The member's satisfaction surveys in the portal on a phone-sized Chromium (390×844): the home
card opens the survey page, the answer moves the survey to "can still be changed", neither page
scrolls sideways in Simplified Chinese or English; turning surveys off in the portal makes the
survey job skip the member, and the front desk sees the withdrawal with the portal as its source.
Screenshots go to test-artifacts/."""

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect, sync_playwright

from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.models import Survey, SurveyAnswer
from feedback.services import AnswerInput, survey_answer_submit, surveys_plan, surveys_send_due
from members.services import ConsentInput, member_register
from messaging.services import messaging_settings_update
from portal.auth import COOKIE_NAME, COOKIE_PATH, member_session_create
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

from .conftest import CHROMIUM_ARGS, CHROMIUM_PATH

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844


def zh_day(day) -> str:
    """A day as the Chinese pages show it: "2026年12月5日 周六"."""
    return f"{day.year}年{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]}"


def in_clinic(clinic, work):
    """Run `work` against the committed data in a thread of its own (Playwright's event loop
    holds this thread, where Django refuses database calls)."""

    def run():
        try:
            with tenant_context(clinic):
                return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@dataclass(frozen=True)
class SurveyWorld:
    member_id: int
    token: str
    waiting_id: int
    answered_id: int
    waiting_day: date


def _visit_surveyed(member, item, sent_at):
    visit = checkout_complete(member=member, actor=None, at=sent_at - timedelta(hours=24),
                              lines=[LineInput(item_id=item.pk, quantity=1)],
                              payments=[PaymentInput(method="cash", amount=item.price)]).visit
    surveys_plan(now=sent_at)
    surveys_send_due(now=sent_at)
    return Survey.objects.get(visit=visit)


@pytest.fixture(scope="module")
def survey_world(browser_clinic, django_db_blocker) -> SurveyWorld:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        Tier.objects.update(discount_percent=0)
        messaging_settings_update(actor=None, quiet_hours_start=time(0), quiet_hours_end=time(0))
        category = category_create(name="光电类", code="lasers-portal")
        ipl = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-P", category=category,
                                    price=Decimal("800.00"), duration_minutes=45)
        member = member_register(name="林小美", phone="+8613833334444", actor=None,
                                 consents=[ConsentInput(purpose="data_processing", granted=True)])
        now = timezone.now()
        answered = _visit_surveyed(member, ipl, now - timedelta(days=3))
        survey_answer_submit(survey=answered, at=now - timedelta(days=2), data=AnswerInput(nps_score=8))
        waiting = _visit_surveyed(member, ipl, now - timedelta(hours=6))
        _session, token = member_session_create(member=member, user_agent="browser tests")
        waiting_day = timezone.localtime(waiting.visit.visited_at, browser_clinic.clinic.zone).date()
    return SurveyWorld(member_id=member.pk, token=token, waiting_id=waiting.pk, answered_id=answered.pk,
                       waiting_day=waiting_day)


@pytest.fixture
def phone(live_site, browser_clinic, survey_world) -> Iterator[Page]:
    """A phone-sized Chromium signed in as the member (their session cookie, as sign-in sets it)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                      is_mobile=True, has_touch=True)
        context.add_cookies([{"name": COOKIE_NAME, "value": survey_world.token, "domain": browser_clinic.host,
                              "path": COOKIE_PATH, "httpOnly": True, "sameSite": "Lax"}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width}px wide on a {WIDTH}px screen"


def test_a_member_answers_the_survey_from_the_portal_and_turns_surveys_off(
        browser_clinic, survey_world, live_site, artifacts_dir, phone: Page):
    clinic = browser_clinic.clinic
    phone.goto(live_site.url(browser_clinic.host, "/m/"))
    card = phone.locator("#survey-card")
    expect(card).to_have_attribute("data-survey", str(survey_world.waiting_id))
    with translation.override("zh-hans"):
        expect(card.locator("h2")).to_have_text(
            translation.gettext("How was your visit on %(day)s?") % {"day": zh_day(survey_world.waiting_day)})
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / "portal-survey-card-zh.png", full_page=True)

    phone.click("#survey-open")
    expect(phone).to_have_url(re.compile(r"/s/[^/]+/\?from=portal$"))
    expect(phone.locator("h1")).to_have_text("您对本次到店满意吗？")
    assert_no_sideways_scroll(phone)
    phone.check("input[name=nps_score][value='9']")
    phone.click("button[type=submit].primary")
    expect(phone.locator("#survey-thanks")).to_be_visible()

    def saved():
        answer = SurveyAnswer.objects.get(survey_id=survey_world.waiting_id)
        return answer.nps_score, answer.member_id

    assert in_clinic(clinic, saved) == (9, survey_world.member_id)

    phone.click("#survey-back-to-portal")
    expect(phone).to_have_url(re.compile(r"/m/surveys/$"))
    expect(phone.locator("#surveys-waiting a[data-survey]")).to_have_count(0)
    editable = phone.locator("#surveys-editable a[data-survey]")
    expect(editable).to_have_count(2)
    expect(editable.first).to_have_attribute("data-survey", str(survey_world.waiting_id))
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / "portal-surveys-zh.png", full_page=True)
    phone.goto(live_site.url(browser_clinic.host, "/m/me/"))
    phone.click("#my-surveys-link")
    expect(phone).to_have_url(re.compile(r"/m/surveys/$"))

    phone.goto(live_site.url(browser_clinic.host, "/m/me/consent/"))
    phone.click("#consent-off-surveys")
    expect(phone.locator(".consent[data-purpose=surveys]")).to_have_attribute("data-granted", "no")

    def next_visit_surveyed():
        from feedback.tasks import feedback_surveys_send
        from members.models import Member

        member = Member.objects.get(pk=survey_world.member_id)
        item = Survey.objects.get(pk=survey_world.waiting_id).visit.lines.get().item
        visit = checkout_complete(member=member, actor=None, at=timezone.now() - timedelta(hours=30),
                                  lines=[LineInput(item_id=item.pk, quantity=1)],
                                  payments=[PaymentInput(method="cash", amount=item.price)]).visit
        feedback_surveys_send.apply()
        survey = Survey.objects.get(visit=visit)
        return survey.status, survey.skip_reason

    assert in_clinic(clinic, next_visit_surveyed) == ("skipped", "opted_out")

    # The front desk sees the withdrawal on the member page, with the portal as its source.
    desk = phone.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    page.goto(live_site.url(browser_clinic.host, f"/members/{survey_world.member_id}/"))
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    row = page.locator("#member-consents tr[data-purpose=surveys]")
    expect(row).to_have_attribute("data-granted", "no")
    with translation.override("zh-hans"):
        expect(row).to_contain_text(translation.gettext("Withdrawn"))
        expect(row).to_contain_text(translation.gettext("Member portal"))
    page.screenshot(path=artifacts_dir / "portal-survey-consent-desk.png", full_page=True)
    desk.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_survey_list_and_the_survey_it_opens_fit_a_phone(
        browser_clinic, survey_world, live_site, artifacts_dir, language, phone: Page):
    phone.context.add_cookies([{"name": "django_language", "value": language,
                                "url": live_site.url(browser_clinic.host, "/")}])
    requested = []
    phone.on("request", lambda request: requested.append(urlparse(request.url)))
    phone.goto(live_site.url(browser_clinic.host, "/m/surveys/"))
    expect(phone.locator("html")).to_have_attribute("lang", language)
    expect(phone.locator("h1")).to_be_visible()
    assert_no_sideways_scroll(phone)
    phone.screenshot(path=artifacts_dir / f"portal-surveys-{language}.png", full_page=True)
    phone.locator("#surveys-editable a[data-survey]").first.click()
    expect(phone).to_have_url(re.compile(r"/s/[^/]+/\?from=portal$"))
    expect(phone.locator("html")).to_have_attribute("lang", language)
    with translation.override(language):
        expect(phone.locator("h1")).to_have_text(translation.gettext("How was your visit?"))
    assert_no_sideways_scroll(phone)
    # Every asset both pages use comes from the clinic's own address.
    assert any(url.path.startswith("/static/") for url in requested)
    assert {url.hostname for url in requested if url.scheme in ("http", "https")} == {browser_clinic.host}
