"""Feedback in a real Chromium: a member answers the satisfaction survey on a phone (390×844,
no sign-in, no sideways scrolling), and the front desk works the follow-up queue at a desktop:
records a complaint and a "no answer". Each test saves a screenshot in test-artifacts/."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from checkout.services import LineInput, PaymentInput, checkout_complete
from feedback.links import survey_token
from feedback.models import ComplaintCase, FollowUpTask, Survey, SurveyAnswer
from feedback.services import followup_create, surveys_plan, surveys_send_due
from members.services import member_register
from messaging.services import messaging_settings_update
from tiers.models import Tier
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


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
        return FeedbackData(token=survey_token(survey), survey_id=survey.pk, complaint_task_id=complaint.pk,
                            no_answer_task_id=no_answer.pk)


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


def log_in(page: Page, live_site, browser_clinic, path: str) -> None:
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", browser_clinic.front_desk.username)
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
