"""What a member merge does to the feedback records (registered in FeedbackConfig.ready())."""

from accounts.models import User
from feedback.models import ComplaintCase, FollowUpTask, Survey, SurveyAnswer
from members.models import Member


def feedback_merge(survivor: Member, duplicate: Member, actor: User | None) -> None:
    """The duplicate's surveys, answers, follow-ups (open ones stay in the queue, now under the
    survivor) and complaint cases become the survivor's, as its visits do. Outcomes belong to
    their tasks and are not touched. Links already sent keep working (see `survey_from_token`)."""
    for model in (Survey, SurveyAnswer, FollowUpTask, ComplaintCase):
        model.objects.filter(member=duplicate).update(member=survivor)
