"""The survey link: a signed token naming one survey and its member, so the page needs no
sign-in and a link works for its own member and visit only. Signed with the clinic in the salt,
so one clinic's link means nothing at another's host."""

from datetime import timedelta

from django.core import signing
from django.urls import reverse

from clinics.context import clinic_url, current_clinic
from feedback.models import Survey
from members.models import Member

# A link stops working this long after it was made (when the survey was sent).
LINK_VALID_FOR = timedelta(days=30)


class SurveyLinkInvalid(Exception):
    """The token was not made by this clinic for an existing survey of its member."""


class SurveyLinkExpired(Exception):
    """The token was genuine but is older than LINK_VALID_FOR."""


def _salt() -> str:
    clinic = current_clinic()
    return f"feedback.survey:{clinic.pk if clinic else 0}"


def survey_token(survey: Survey) -> str:
    return signing.dumps([survey.pk, survey.member_id], salt=_salt(), compress=True)


def survey_url(survey: Survey) -> str:
    path = reverse("survey", args=[survey_token(survey)])
    clinic = current_clinic()
    return clinic_url(clinic, path) if clinic else path


def survey_from_token(token: str) -> Survey:
    """The survey a link is for. Raises SurveyLinkExpired for an old genuine link and
    SurveyLinkInvalid for anything else that is not a current link to a survey of its member
    (or of the member it was merged into, so links sent before a merge keep working)."""
    try:
        survey_id, member_id = signing.loads(token, salt=_salt(), max_age=LINK_VALID_FOR)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise SurveyLinkInvalid from exc
    survey = Survey.objects.select_related("member", "visit", "practitioner__user").filter(pk=survey_id).first()
    if survey is None or not (survey.member_id == member_id or Member.objects.filter(
            pk=member_id, status=Member.Status.MERGED, merged_into_id=survey.member_id).exists()):
        raise SurveyLinkInvalid
    return survey
