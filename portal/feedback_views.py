"""The member's satisfaction surveys in the portal: those waiting for an answer and those whose
answer can still be changed, each opening the survey page of the feedback app (the same page and
link rules as the link in the message). Views only: the rules and the links are feedback's."""

from django.shortcuts import render
from django.utils import timezone

from feedback.selectors import member_open_surveys
from points.rules import clinic_zone
from portal.auth import member_required


@member_required
def surveys(request):
    return render(request, "portal/surveys.html", {
        "surveys": member_open_surveys(member=request.member, now=timezone.now()), "tz": clinic_zone()})
