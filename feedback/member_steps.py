"""What a member merge and a member erasure do to the feedback records (registered in
FeedbackConfig.ready())."""

from accounts.models import User
from feedback.models import ComplaintCase, FollowUpTask, Survey, SurveyAnswer
from members.models import Member


def feedback_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    """The duplicate's surveys, answers, follow-ups (open ones stay in the queue, now under the
    survivor) and complaint cases become the survivor's, as its visits do. Outcomes belong to
    their tasks and are not touched. Links already sent keep working (see `survey_from_token`)."""
    for model in (Survey, SurveyAnswer, FollowUpTask, ComplaintCase):
        model.objects.filter(member=duplicate).update(member=survivor)


def feedback_erase(member: Member) -> None:
    """Erasure removes what the member wrote and what staff wrote about them in the records that
    may change: answer comments, follow-up notes, complaint details (a closed case's resolution
    becomes "—", as a closed case must have one). Scores, ratings, tags, times and statuses stay,
    so the measures do not move. Outcome notes stay: outcomes are append-only."""
    SurveyAnswer.objects.filter(member=member).update(comment="")
    FollowUpTask.objects.filter(member=member).update(note="")
    ComplaintCase.objects.filter(member=member, status=ComplaintCase.Status.OPEN).update(details="")
    ComplaintCase.objects.filter(member=member, status=ComplaintCase.Status.CLOSED).update(details="", resolution="—")
