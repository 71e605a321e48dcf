"""Feedback pages: the member's survey page (no sign-in, by its signed link), the follow-up queue,
a task with its outcomes, complaint cases, and the manager's survey settings. Thin: each view
checks the form, calls one service or selector and renders."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View

from clinic_loyalty.form_errors import apply_validation_error
from clinics.context import current_clinic
from feedback import forms
from feedback.links import SurveyLinkExpired, SurveyLinkInvalid, survey_from_token
from feedback.models import DEFAULT_QUESTIONS, FollowUpRule, FollowUpTask, Survey
from feedback.selectors import (
    answer_figures,
    complaint_list,
    followup_counts,
    followup_detail,
    followup_queue,
    followups_on_time,
    member_answers,
    member_recent_visits,
    period_of_days,
    recall_conversion,
    recall_outcomes,
    survey_response_rate,
)
from feedback.services import (
    ANSWER_EDITABLE_FOR,
    AnswerInput,
    complaint_close,
    followup_assign,
    followup_create,
    followup_outcome_record,
    followup_rule_create,
    followup_rule_delete,
    local_due,
    survey_answer_submit,
    survey_opt_out,
    survey_settings,
    survey_settings_update,
)
from frontdesk.base_views import StaffPermissionRequired, _after
from idempotency.forms import submit_once
from manager.views import SettingsRequired, form_saved
from members.models import Member
from points.rules import clinic_zone

QUEUE_LIMIT = 200


# The member's survey page


def _questions(survey: Survey) -> dict[str, str]:
    """The two questions in the page's language: the clinic's wording, else the default."""
    rules = survey_settings()
    english = (get_language() or "").startswith("en")
    defaults = DEFAULT_QUESTIONS["en" if english else "zh-hans"]
    nps_text = (rules.nps_question_en if english else rules.nps_question_zh) or defaults["nps"]
    rating_text = (rules.practitioner_question_en if english else rules.practitioner_question_zh) \
        or defaults["practitioner"]
    clinic = current_clinic()
    practitioner = str(survey.practitioner) if survey.practitioner_id else ""
    return {"nps": nps_text.replace("{clinic}", clinic.name if clinic else ""),
            "practitioner": rating_text.replace("{practitioner}", practitioner)}


# The member portal opens the survey page with this query, so the page leads back to the
# member's surveys (in the portal installed as an app there is no browser back button).
FROM_PORTAL = "from=portal"


def _from_portal(request) -> bool:
    return request.GET.get("from") == "portal"


class SurveyView(View):
    """The survey of one visit, for the member its link was made for. No sign-in: the signed
    link is the key. A refused link changes nothing and says why."""

    template = "feedback/survey.html"

    def _survey(self, request, token: str):
        try:
            return survey_from_token(token), None
        except SurveyLinkExpired:
            return None, render(request, "feedback/survey_refused.html", {"expired": True}, status=410)
        except SurveyLinkInvalid:
            return None, render(request, "feedback/survey_refused.html", {"expired": False}, status=404)

    def _render(self, request, survey, form, status=200):
        answer = getattr(survey, "answer", None)
        editable_until = answer.answered_at + ANSWER_EDITABLE_FOR if answer else None
        return render(request, self.template, {
            "survey": survey, "form": form, "answer": answer, "questions": _questions(survey),
            "editable": answer is None or timezone.now() <= editable_until, "editable_until": editable_until,
            "thanks": request.GET.get("thanks") == "1", "from_portal": _from_portal(request),
            "tz": clinic_zone()}, status=status)

    def get(self, request, token: str):
        survey, refused = self._survey(request, token)
        if refused:
            return refused
        answer = getattr(survey, "answer", None)
        initial = ({"nps_score": answer.nps_score, "practitioner_rating": answer.practitioner_rating,
                    "comment": answer.comment, "tags": answer.tags} if answer else {})
        return self._render(request, survey, forms.SurveyAnswerForm(
            initial=initial, rate_practitioner=bool(survey.practitioner_id)))

    def post(self, request, token: str):
        survey, refused = self._survey(request, token)
        if refused:
            return refused
        form = forms.SurveyAnswerForm(request.POST, rate_practitioner=bool(survey.practitioner_id))
        if form.is_valid():
            data = form.cleaned_data
            try:
                survey_answer_submit(survey=survey, data=AnswerInput(
                    nps_score=data["nps_score"], practitioner_rating=data.get("practitioner_rating"),
                    comment=data["comment"], tags=tuple(data["tags"])))
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                back = f"&{FROM_PORTAL}" if _from_portal(request) else ""
                return redirect(reverse("survey", args=[token]) + "?thanks=1" + back)
        return self._render(request, survey, form, status=400)


class SurveyOptOutView(SurveyView):
    """The member turns surveys off, from the page their link opens."""

    def get(self, request, token: str):
        return redirect("survey", token=token)

    def post(self, request, token: str):
        survey, refused = self._survey(request, token)
        if refused:
            return refused
        survey_opt_out(survey=survey)
        return render(request, "feedback/survey_refused.html", {"opted_out": True})


# The follow-up queue


class FollowUpQueueView(StaffPermissionRequired, View):
    """Open follow-ups: overdue, due today, upcoming; by type, practitioner and assignee."""

    def get(self, request):
        form = forms.QueueFilterForm(request.GET or None)
        status = 200
        if form.is_bound and not form.is_valid():
            tasks, status = [], 400
        else:
            filters = form.filters() if form.is_bound else {}
            tasks = list(followup_queue(**filters)[:QUEUE_LIMIT])
        return render(request, "feedback/queue.html", {
            "form": form, "tasks": tasks, "counts": followup_counts(), "tz": clinic_zone()}, status=status)


def _task_page(request, pk: int, *, outcome_form=None, assign_form=None, status=200):
    task = get_object_or_404(FollowUpTask, pk=pk)
    task = followup_detail(task.pk)
    return render(request, "feedback/task.html", {
        "task": task, "member": task.member, "visits": member_recent_visits(member=task.member),
        "answers": member_answers(member=task.member, limit=5), "outcomes": list(task.outcomes.all()),
        "outcome_form": outcome_form or forms.OutcomeForm(member=task.member),
        "assign_form": assign_form or forms.AssignForm(initial={"assigned_to": task.assigned_to_id}),
        "tz": clinic_zone()}, status=status)


class FollowUpDetailView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        return _task_page(request, pk)

    def post(self, request, pk: int):
        task = get_object_or_404(FollowUpTask.objects.select_related("member"), pk=pk)
        form = forms.OutcomeForm(request.POST, member=task.member)
        if form.is_valid():
            data = form.cleaned_data
            call_back_at = data["call_back_at"]
            if call_back_at is not None and timezone.is_naive(call_back_at):
                call_back_at = timezone.make_aware(call_back_at, clinic_zone())

            def record() -> str:
                followup_outcome_record(task=task, actor=request.user, kind=data["kind"], notes=data["notes"],
                                        call_back_at=call_back_at, booking=data["booking"])
                task.refresh_from_db()
                if task.status == FollowUpTask.Status.DONE:
                    return reverse("feedback:queue")
                return reverse("feedback:task", args=[task.pk])

            try:
                return _after(request, submit_once(request, record), _("Outcome recorded."))
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return _task_page(request, pk, outcome_form=form, status=400)


class FollowUpAssignView(StaffPermissionRequired, View):
    def post(self, request, pk: int):
        task = get_object_or_404(FollowUpTask, pk=pk)
        form = forms.AssignForm(request.POST)
        if form.is_valid():
            try:
                followup_assign(task=task, actor=request.user, assigned_to=form.cleaned_data["assigned_to"])
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Follow-up assigned."))
                return redirect("feedback:task", pk=task.pk)
        return _task_page(request, pk, assign_form=form, status=400)


class FollowUpCreateView(StaffPermissionRequired, View):
    """A follow-up written by hand, from the member's page."""

    def _render(self, request, member, form, status=200):
        return render(request, "feedback/followup_new.html", {"member": member, "form": form}, status=status)

    def get(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        tomorrow = timezone.localdate(timezone.now(), clinic_zone()) + timedelta(days=1)
        return self._render(request, member, forms.FollowUpCreateForm(initial={"due_on": tomorrow}))

    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        form = forms.FollowUpCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def create() -> str:
                followup_create(member=member, actor=request.user, due_at=local_due(data["due_on"]),
                                note=data["note"], assigned_to=data["assigned_to"])
                return reverse("frontdesk:member_detail", args=[member.pk]) + "#member-followups"

            try:
                return _after(request, submit_once(request, create), _("Follow-up added."))
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return self._render(request, member, form, status=400)


# Complaints


class ComplaintListView(StaffPermissionRequired, View):
    def get(self, request):
        status = request.GET.get("status", "open")
        if status not in ("open", "closed", ""):
            status = "open"
        return render(request, "feedback/complaints.html",
                      {"cases": complaint_list(status=status)[:QUEUE_LIMIT], "status": status, "tz": clinic_zone()})


class ComplaintDetailView(StaffPermissionRequired, View):
    def _render(self, request, case, form, status=200):
        return render(request, "feedback/complaint.html", {"case": case, "form": form, "tz": clinic_zone()},
                      status=status)

    def get(self, request, pk: int):
        case = get_object_or_404(complaint_list(), pk=pk)
        return self._render(request, case, forms.ComplaintCloseForm())

    def post(self, request, pk: int):
        case = get_object_or_404(complaint_list(), pk=pk)
        if not request.user.has_perm("feedback.resolve_complaint"):
            raise PermissionDenied
        form = forms.ComplaintCloseForm(request.POST)
        if form.is_valid():
            try:
                complaint_close(case=case, actor=request.user, resolution=form.cleaned_data["resolution"])
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("Complaint closed."))
                return redirect("feedback:complaints")
        return self._render(request, case, form, status=400)


# The manager's survey settings, follow-up rules and measures


class SurveySettingsView(SettingsRequired, View):
    def _render(self, request, form, rule_form=None, status=200):
        today = timezone.localdate(timezone.now(), clinic_zone())
        start, end = period_of_days(today - timedelta(days=89), today)
        score, ratings = answer_figures(start=start, end=end)
        return render(request, "feedback/settings.html", {
            "form": form, "rule_form": rule_form or forms.FollowUpRuleForm(),
            "rules": FollowUpRule.objects.select_related("treatment", "category"),
            "nps": score, "response": survey_response_rate(start=start, end=end),
            "ratings": ratings, "on_time": followups_on_time(start=start, end=end),
            "recall": recall_conversion(start=start, end=end),
            "recalls": recall_outcomes(start=start, end=end)[:20], "tz": clinic_zone()}, status=status)

    def get(self, request):
        return self._render(request, forms.SurveySettingsForm(instance=survey_settings()))

    def post(self, request):
        form = forms.SurveySettingsForm(request.POST, instance=survey_settings())

        def save():
            data = dict(form.cleaned_data)
            treatments = list(data.pop("treatments"))
            survey_settings_update(actor=request.user, treatments=treatments, **data)

        saved = form_saved(request, form, save, saved_message=_("Survey settings saved."), url="manager:surveys")
        return saved or self._render(request, form, status=400)


class FollowUpRuleCreateView(SettingsRequired, View):
    def post(self, request):
        form = forms.FollowUpRuleForm(request.POST)
        saved = form_saved(request, form, lambda: followup_rule_create(actor=request.user, **form.cleaned_data),
                           saved_message=_("Follow-up rule added."), url="manager:surveys")
        return saved or SurveySettingsView()._render(
            request, forms.SurveySettingsForm(instance=survey_settings()), rule_form=form, status=400)


class FollowUpRuleDeleteView(SettingsRequired, View):
    def post(self, request, pk: int):
        followup_rule_delete(actor=request.user, rule=get_object_or_404(FollowUpRule, pk=pk))
        messages.success(request, _("Follow-up rule removed."))
        return redirect("manager:surveys")

