"""Feedback in a real Chromium: a member answers the satisfaction survey on a phone (390×844,
no sign-in, no sideways scrolling), and the front desk works the follow-up queue at a desktop:
records a complaint and a "no answer"; both again in English; and every feedback page fits a
phone and a desk in both languages. Each test saves a screenshot in test-artifacts/."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.roles import Role
from accounts.services import staff_create
from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.links import survey_token
from feedback.models import ComplaintCase, FollowUpTask, Survey, SurveyAnswer
from feedback.services import followup_create, followup_outcome_record, surveys_plan, surveys_send_due
from members.services import member_register
from messaging.services import messaging_settings_update
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
# What sticks out on the right, to say so when a page scrolls sideways.
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth)
  .slice(-5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' '
  + Math.round(e.getBoundingClientRect().right)).join(', ')"""


def in_clinic(clinic, read):
    """Run `read` against the committed data, in a thread of its own: Playwright's event loop
    runs in the test's thread, where Django refuses database calls."""
    def run():
        try:
            with tenant_context(clinic):
                return read()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@dataclass(frozen=True)
class FeedbackData:
    token: str
    survey_id: int
    complaint_task_id: int
    no_answer_task_id: int
    english_token: str
    english_survey_id: int
    english_task_id: int
    member_id: int
    case_id: int
    manager_username: str


@pytest.fixture(scope="module")
def feedback_data(browser_clinic, django_db_blocker) -> FeedbackData:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        Tier.objects.update(discount_percent=0)
        messaging_settings_update(actor=None, quiet_hours_start=time(0), quiet_hours_end=time(0))
        lasers = category_create(name="光电类", code="lasers")
        ipl = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="IPL-1", category=lasers,
                                    price=Decimal("800.00"), duration_minutes=45)
        member = member_register(name="陈欣怡", phone="13911112001", actor=None)
        checkout_complete(member=member, actor=None, at=timezone.now() - timedelta(hours=30),
                          lines=[LineInput(item_id=ipl.pk, quantity=1)],
                          payments=[PaymentInput(method="cash", amount=Decimal("800.00"))])
        surveys_plan()
        surveys_send_due()
        survey = Survey.objects.get(member=member)
        desk = browser_clinic.front_desk
        complainer = member_register(name="林佳颖", phone="13911112002", actor=None)
        quiet = member_register(name="周雪", phone="13911112003", actor=None)
        complaint = followup_create(member=complainer, actor=desk, due_at=timezone.now(), note="术后第1天回访")
        no_answer = followup_create(member=quiet, actor=desk, due_at=timezone.now(), note="术后第7天回访")
        # For the English runs: a survey of its own, a task of its own, and a complaint case.
        visitor = member_register(name="Emma Clarke", phone="13911112004", actor=None)
        checkout_complete(member=visitor, actor=None, at=timezone.now() - timedelta(hours=30),
                          lines=[LineInput(item_id=ipl.pk, quantity=1)],
                          payments=[PaymentInput(method="cash", amount=Decimal("800.00"))])
        surveys_plan()
        surveys_send_due()
        english_survey = Survey.objects.get(member=visitor)
        english_task = followup_create(member=visitor, actor=desk, due_at=timezone.now(),
                                       note="Day 1 call after the treatment")
        opened = followup_create(member=complainer, actor=desk, due_at=timezone.now(), note="投诉回访")
        followup_outcome_record(task=opened, actor=desk, kind="complaint", notes="价格与报价不一致")
        manager = staff_create(username="feedbackmanager", email="fbm@browserclinic.test", full_name="店长王",
                               role=Role.MANAGER, password=browser_clinic.password)
        return FeedbackData(token=survey_token(survey), survey_id=survey.pk, complaint_task_id=complaint.pk,
                            no_answer_task_id=no_answer.pk, english_token=survey_token(english_survey),
                            english_survey_id=english_survey.pk, english_task_id=english_task.pk,
                            member_id=visitor.pk, case_id=ComplaintCase.objects.get(task=opened).pk,
                            manager_username=manager.username)


def test_a_member_answers_the_survey_on_a_phone(browser_clinic, feedback_data, live_site, artifacts_dir, page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_site.url(browser_clinic.host, f"/s/{feedback_data.token}/"))
    expect(page.locator("h1")).to_have_text("您对本次到店满意吗？")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    # Sending with no score is refused, in Chinese, and saves nothing.
    page.click("button[type=submit].primary")
    expect(page.locator("#q-nps .error")).to_have_text("请选择0到10之间的分数。")
    page.check("input[name=nps_score][value='4']")
    page.check("input[name=tags][value='waiting']")
    page.fill("textarea[name=comment]", "等候时间太长了")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=artifacts_dir / "feedback-survey-phone.png", full_page=True)
    page.click("button[type=submit].primary")
    expect(page.locator("#survey-thanks")).to_be_visible()
    expect(page.locator("input[name=nps_score][value='4']")).to_be_checked()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    def saved():
        answer = SurveyAnswer.objects.get(survey_id=feedback_data.survey_id)
        return ((answer.nps_score, answer.tags, answer.comment),
                FollowUpTask.objects.filter(answer=answer, kind="detractor", status="open").exists())

    assert in_clinic(browser_clinic.clinic, saved) == ((4, ["waiting"], "等候时间太长了"), True)
    # A link changed by one character is refused.
    page.goto(live_site.url(browser_clinic.host, f"/s/{feedback_data.token[:-1]}x/"))
    expect(page.locator("h1")).to_have_text("问卷链接无效")


def log_in(page: Page, live_site, browser_clinic, path: str, username: str = "") -> None:
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", username or browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, path))


def test_the_desk_works_the_follow_up_queue(browser_clinic, feedback_data, live_site, artifacts_dir, page: Page):
    log_in(page, live_site, browser_clinic, "/followups/?when=today")
    queue = page.locator("#queue")
    expect(queue.locator(f"#task-{feedback_data.complaint_task_id}")).to_contain_text("林佳颖")
    expect(queue.locator(f"#task-{feedback_data.no_answer_task_id}")).to_contain_text("周雪")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=artifacts_dir / "feedback-queue-desk.png", full_page=True)

    page.click(f"#task-{feedback_data.complaint_task_id} td:first-child a")
    page.check("input[name=kind][value='complaint']")
    page.click("#outcome button[type=submit].primary")
    expect(page.locator("#outcome .error").first).to_have_text("请填写投诉内容。")
    page.check("input[name=kind][value='complaint']")
    page.fill("textarea[name=notes]", "术后红肿，要求医生复诊")
    page.click("#outcome button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/followups/"))
    expect(page.locator(".messages")).to_contain_text("回访结果已记录")
    expect(page.locator(f"#task-{feedback_data.complaint_task_id}")).to_have_count(0)

    page.click(f"#task-{feedback_data.no_answer_task_id} td:first-child a")
    page.check("input[name=kind][value='no_answer']")
    page.click("#outcome button[type=submit].primary")
    expect(page.locator("#task-outcomes")).to_contain_text("无人接听")
    expect(page.locator("#task-status")).to_have_text("未完成")
    def recorded():
        case = ComplaintCase.objects.get(task_id=feedback_data.complaint_task_id)
        moved = FollowUpTask.objects.get(pk=feedback_data.no_answer_task_id)
        return (case.status, case.opened_by_id, moved.status,
                moved.due_at > timezone.now() + timedelta(hours=23))

    assert in_clinic(browser_clinic.clinic, recorded) == ("open", browser_clinic.front_desk.pk, "open", True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_site.url(browser_clinic.host, "/followups/"))
    assert page.evaluate(NO_SIDEWAYS_SCROLL)


def in_language(page: Page, live_site, browser_clinic, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language,
                               "url": live_site.url(browser_clinic.host, "/")}])


def test_a_member_answers_the_survey_on_a_phone_in_english(browser_clinic, feedback_data, live_site, artifacts_dir,
                                                          page: Page):
    in_language(page, live_site, browser_clinic, "en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_site.url(browser_clinic.host, f"/s/{feedback_data.english_token}/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("How was your visit?")
    expect(page.locator("#q-nps legend")).to_contain_text("How likely are you to recommend")
    page.click("button[type=submit].primary")
    expect(page.locator("#q-nps .error")).to_have_text("Choose a score from 0 to 10.")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.check("input[name=nps_score][value='10']")
    page.check("input[name=tags][value='result']")
    page.fill("textarea[name=comment]", "Lovely staff, great result")
    page.screenshot(path=artifacts_dir / "feedback-survey-phone-en.png", full_page=True)
    page.click("button[type=submit].primary")
    expect(page.locator("#survey-thanks")).to_have_text("Thank you! Your answer has been saved.")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    def saved():
        answer = SurveyAnswer.objects.get(survey_id=feedback_data.english_survey_id)
        return (answer.nps_score, answer.tags, FollowUpTask.objects.filter(answer=answer).exists())

    assert in_clinic(browser_clinic.clinic, saved) == (10, ["result"], False)


def test_the_desk_works_the_queue_in_english(browser_clinic, feedback_data, live_site, artifacts_dir, page: Page):
    in_language(page, live_site, browser_clinic, "en")
    log_in(page, live_site, browser_clinic, "/followups/?when=today")
    expect(page.locator("h1")).to_have_text("Follow-ups")
    row = page.locator(f"#task-{feedback_data.english_task_id}")
    expect(row).to_contain_text("Emma Clarke")
    expect(row).to_contain_text("By hand")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.click(f"#task-{feedback_data.english_task_id} td:first-child a")
    page.check("input[name=kind][value='call_back']")
    page.click("#outcome button[type=submit].primary")
    expect(page.locator("#outcome .error").first).to_have_text("Give a time in the future to call back.")
    page.check("input[name=kind][value='reached']")
    page.fill("textarea[name=notes]", "Healing well, no redness")
    page.screenshot(path=artifacts_dir / "feedback-task-desk-en.png", full_page=True)
    page.click("#outcome button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, "/followups/"))
    expect(page.locator(".messages")).to_contain_text("Outcome recorded.")
    expect(page.locator(f"#task-{feedback_data.english_task_id}")).to_have_count(0)

    def recorded():
        task = FollowUpTask.objects.get(pk=feedback_data.english_task_id)
        outcome = task.outcomes.get()
        return task.status, outcome.kind, outcome.actor_id, outcome.notes

    assert in_clinic(browser_clinic.clinic, recorded) == (
        "done", "reached", browser_clinic.front_desk.pk, "Healing well, no redness")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_feedback_pages_fit_a_phone_and_a_desk(browser_clinic, feedback_data, live_site, artifacts_dir,
                                                  language, page: Page):
    in_language(page, live_site, browser_clinic, language)
    staff_pages = ["/followups/", f"/followups/{feedback_data.no_answer_task_id}/", "/followups/complaints/",
                   f"/followups/complaints/{feedback_data.case_id}/",
                   f"/followups/members/{feedback_data.member_id}/new/", f"/members/{feedback_data.member_id}/",
                   "/manage/surveys/"]
    log_in(page, live_site, browser_clinic, "/followups/", username=feedback_data.manager_username)
    for width, height in ((390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        for path in [*staff_pages, f"/s/{feedback_data.token}/"]:
            page.goto(live_site.url(browser_clinic.host, path))
            expect(page.locator("html")).to_have_attribute("lang", language)
            expect(page.locator("h1").first).to_be_visible()
            assert page.evaluate(NO_SIDEWAYS_SCROLL), (f"{path} scrolls sideways at {width} px in {language}: "
                                                       + page.evaluate(WIDEST))
        page.goto(live_site.url(browser_clinic.host, "/manage/surveys/"))
        page.screenshot(path=artifacts_dir / f"feedback-settings-{width}-{language}.png", full_page=True)
