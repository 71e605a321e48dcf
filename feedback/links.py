"""The survey link: a signed token naming one survey and its member, so the page needs no
sign-in and a link works for its own member and visit only. Signed with the clinic in the salt,
so one clinic's link means nothing at another's host."""

from datetime import datetime, timedelta

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


class _SignerAt(signing.TimestampSigner):
    """A timestamp signer that dates its token at a given time instead of now."""

    def __init__(self, *, at: datetime, **kwargs):
        super().__init__(**kwargs)
        self._at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self._at.timestamp()))


def survey_token(survey: Survey, *, signed_at: datetime | None = None) -> str:
    """The survey's token, dated now, or at `signed_at` (it then expires LINK_VALID_FOR after
    that time, not after now)."""
    value = [survey.pk, survey.member_id]
    if signed_at is None:
        return signing.dumps(value, salt=_salt(), compress=True)
    return _SignerAt(at=signed_at, salt=_salt()).sign_object(value, serializer=signing.JSONSerializer,
                                                              compress=True)


def survey_url(survey: Survey) -> str:
    path = reverse("survey", args=[survey_token(survey)])
    clinic = current_clinic()
    return clinic_url(clinic, path) if clinic else path


def survey_link_expires_at(survey: Survey) -> datetime | None:
    """When the link the member was sent stops working (None for a survey not sent)."""
    return survey.sent_at + LINK_VALID_FOR if survey.sent_at else None


def survey_sent_link_path(survey: Survey) -> str:
    """The survey page's address on this host, for a sent survey, valid exactly as long as the
    link in the member's message: the token is dated when the survey was sent, so opening it
    from elsewhere (the member portal) neither extends nor shortens the link's life."""
    if survey.sent_at is None:
        raise ValueError("A survey that was not sent has no link.")
    return reverse("survey", args=[survey_token(survey, signed_at=survey.sent_at)])


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
