"""The front desk's member pages: search, sign-up, profile, consents, messages, medical details,
archive, restore and merge."""


from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from campaigns.selectors import member_campaign_offers
from clinic_loyalty.form_errors import apply_validation_error
from feedback.selectors import followup_list, member_answers
from frontdesk.base_views import SEARCH_LIMIT, StaffPermissionRequired, _after, _is_htmx, _member, form_submitted
from frontdesk.forms import (
    REGISTRATION_CONSENTS,
    ArchiveForm,
    ConfirmForm,
    ConsentForm,
    MedicalProfileForm,
    MemberEditForm,
    MemberRegisterForm,
)
from frontdesk.selectors import member_figures, member_overview
from idempotency.forms import idempotency_key_new, submit_once
from members.models import NOTICE_PURPOSES, ConsentRecord, Member
from members.naming import phone_normalize
from members.selectors import (
    medical_profile_read,
    member_merge_candidates,
    member_search,
    member_with_phone,
    members_with_allergy_flag,
)
from members.services import (
    ConsentInput,
    DuplicateMemberError,
    consent_record,
    medical_profile_update,
    member_archive,
    member_merge,
    member_register,
    member_restore,
    member_update,
)
from messaging.selectors import message_list
from packages.selectors import member_packages
from packages.services import REFUND_PERMISSION as PACKAGE_REFUND_PERMISSION
from points.rules import clinic_zone
from recommendations.selectors import member_recommendations
from storedvalue.selectors import card_balance


class MemberSearchView(StaffPermissionRequired, View):
    """Type-ahead search. HTMX asks for the results list only; Enter (a plain GET) opens the
    member at once when exactly one matches."""

    def get(self, request):
        query = request.GET.get("q", "").strip()[:100]
        results = member_search(query=query, limit=SEARCH_LIMIT) if query else []
        context = {"query": query, "results": results}
        if _is_htmx(request):
            return render(request, "frontdesk/_search_results.html", context)
        if request.GET.get("go") and len(results) == 1:
            return redirect("frontdesk:member_detail", pk=results[0].pk)
        return render(request, "frontdesk/member_search.html", context)


class PhoneCheckView(StaffPermissionRequired, View):
    """While registering: does this phone belong to a member already?"""

    def get(self, request):
        existing = None
        try:
            phone = phone_normalize(request.GET.get("phone", ""))
        except ValidationError:
            phone = None
        if phone:
            existing = member_with_phone(phone, exclude_pk=_int_or_none(request.GET.get("member")))
        return render(request, "frontdesk/_phone_check.html", {"existing": existing})


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


class MemberRegisterView(StaffPermissionRequired, View):
    template = "frontdesk/member_register.html"

    def get(self, request):
        return render(request, self.template, {"form": MemberRegisterForm()})

    def post(self, request):
        form = MemberRegisterForm(request.POST)
        existing = None
        if form.is_valid():
            data = form.cleaned_data

            def register() -> str:
                member = member_register(
                    name=data["name"], phone=data["phone"], actor=request.user, gender=data["gender"],
                    birthday=data["birthday"], celebrates_lunar_birthday=data["celebrates_lunar_birthday"],
                    email=data["email"], source=data["source"], referral_code=data["referral_code"],
                    tags=data["tags"].split(","), notes=data["notes"],
                    consents=[ConsentInput(purpose=purpose, granted=data[f"consent_{purpose}"])
                              for purpose, _label in REGISTRATION_CONSENTS])
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                submission = submit_once(request, register)
            except DuplicateMemberError as exc:
                existing = exc.existing
                apply_validation_error(form, exc)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return _after(request, submission, _("Member registered."))
        return render(request, self.template, {"form": form, "existing": existing}, status=400)


def _member_page(request, pk: int, *, page_error: str | None = None, consent_error: str | None = None,
                 status: int = 200):
    member = get_object_or_404(members_with_allergy_flag(Member.objects.select_related("referred_by")), pk=pk)
    overview = member_overview(member=member)
    groups = [(_("Upcoming"), overview.upcoming_appointments, "upcoming"),
              (_("Past"), overview.past_appointments, "past")]
    consents = [(purpose, label, overview.consents[purpose], idempotency_key_new())
                for purpose, label in ConsentRecord.Purpose.choices]
    return render(request, "frontdesk/member_detail.html",
                  {"o": overview, "appointment_groups": groups, "consent_rows": consents, "tz": clinic_zone(),
                   "notice_purposes": NOTICE_PURPOSES,
                   "survey_answers": member_answers(member=member, limit=5),
                   "followups": followup_list(member_id=member.pk)[:10],
                   "tag_history": member.tag_events.select_related("actor")[:10],
                   "suggestions": member_recommendations(member=member),
                   "campaign_offers": member_campaign_offers(member=member),
                   "page_error": page_error, "consent_error": consent_error,
                   "restore_form": ConfirmForm(), "card": card_balance(member), "packages": member_packages(member),
                   "can_refund_packages": request.user.has_perm(PACKAGE_REFUND_PERMISSION)}, status=status)


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


class MemberDetailView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        return _member_page(request, pk)


class MemberEditView(StaffPermissionRequired, View):
    """The profile: name, phone, gender, birthday, email, interests, source and notes, through
    `member_update`, which refuses a phone another member has and members no longer active."""

    template = "frontdesk/member_edit.html"

    def get(self, request, pk: int):
        member = _member(pk)
        return render(request, self.template, {"member": member, "form": MemberEditForm(member=member)})

    def post(self, request, pk: int):
        member = _member(pk)
        form = MemberEditForm(request.POST, member=member)
        existing = None
        if form.is_valid():
            def update() -> str:
                member_update(member=member, actor=request.user, **form.changes())
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                return _after(request, submit_once(request, update), _("Profile saved."))
            except DuplicateMemberError as exc:
                existing = exc.existing
                apply_validation_error(form, exc)
            except ValidationError as exc:
                apply_validation_error(form, exc)
            member.refresh_from_db()
        return render(request, self.template, {"member": member, "form": form, "existing": existing}, status=400)


class ConsentRecordView(StaffPermissionRequired, View):
    """A grant or a withdrawal for one purpose, appended to the member's consent history with
    the front desk as channel."""

    def post(self, request, pk: int):
        member = _member(pk)
        form = ConsentForm(request.POST)
        if not form.is_valid():
            return _member_page(request, pk, consent_error=_("Choose a purpose and whether it is granted."),
                                status=400)
        data = form.cleaned_data

        def record() -> str:
            consent_record(member=member, purpose=data["purpose"], granted=data["granted"],
                           channel=ConsentRecord.Channel.FRONT_DESK, actor=request.user)
            return reverse("frontdesk:member_detail", args=[member.pk]) + "#member-consents"

        label = ConsentRecord.Purpose(data["purpose"]).label
        text = (_("Consent recorded: %(purpose)s granted.") if data["granted"]
                else _("Consent recorded: %(purpose)s withdrawn.")) % {"purpose": label}
        try:
            return _after(request, submit_once(request, record), text)
        except ValidationError as exc:
            return _member_page(request, pk, consent_error=_refusal(exc), status=400)


class MemberMessagesView(StaffPermissionRequired, View):
    """The messages to one member (sent, failed, skipped and why), with their text, newest
    first. The whole clinic's log is a settings page."""

    PAGE_SIZE = 50

    def get(self, request, pk: int):
        member = _member(pk)
        page = Paginator(message_list(member=member), self.PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "frontdesk/member_messages.html", {"member": member, "page": page,
                                                                  "tz": clinic_zone()})


class MedicalDetailsView(StaffPermissionRequired, View):
    """Allergies and medical notes, for practitioners and managers; every read is logged."""

    permission_required = "accounts.view_medical"

    def get(self, request, pk: int):
        member = _member(pk)
        profile = medical_profile_read(member=member, actor=request.user)
        return render(request, "frontdesk/_medical.html", {"profile": profile, "member": member})


class MedicalEditView(StaffPermissionRequired, View):
    """Allergies, contraindications and medical notes, for practitioners and managers. Opening
    the form reads the profile (logged as a read); saving is logged as an update."""

    permission_required = "accounts.view_medical"
    template = "frontdesk/medical_edit.html"

    def get(self, request, pk: int):
        member = _member(pk)
        profile = medical_profile_read(member=member, actor=request.user)
        initial = {} if profile is None else {"allergies": profile.allergies,
                                              "contraindications": profile.contraindications,
                                              "medical_notes": profile.medical_notes}
        return render(request, self.template, {"member": member, "form": MedicalProfileForm(initial=initial)})

    def post(self, request, pk: int):
        member = _member(pk)
        form = MedicalProfileForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data

            def update() -> str:
                medical_profile_update(member=member, actor=request.user, allergies=data["allergies"],
                                       contraindications=data["contraindications"],
                                       medical_notes=data["medical_notes"])
                return reverse("frontdesk:member_detail", args=[member.pk])

            try:
                return _after(request, submit_once(request, update), _("Medical details saved."))
            except (ValidationError, PermissionDenied) as exc:
                form.add_error(None, _refusal(exc))
        return render(request, self.template, {"member": member, "form": form}, status=400)


class ManageMemberRequired(StaffPermissionRequired):
    permission_required = "members.manage_member"


class MemberArchiveView(ManageMemberRequired, View):
    template = "frontdesk/member_archive.html"

    def get(self, request, pk: int):
        return render(request, self.template, {"member": _member(pk), "form": ArchiveForm()})

    def post(self, request, pk: int):
        member = _member(pk)
        form = ArchiveForm(request.POST)
        if form.is_valid():
            def archive() -> str:
                member_archive(member=member, actor=request.user, reason=form.cleaned_data["reason"].strip())
                return reverse("frontdesk:member_detail", args=[member.pk])

            if response := form_submitted(request, form, archive, _("Member archived.")):
                return response
        return render(request, self.template, {"member": member, "form": form}, status=400)


class MemberRestoreView(ManageMemberRequired, View):
    def post(self, request, pk: int):
        member = _member(pk)

        def restore() -> str:
            member_restore(member=member, actor=request.user)
            return reverse("frontdesk:member_detail", args=[member.pk])

        try:
            return _after(request, submit_once(request, restore), _("Member restored."))
        except ValidationError as exc:
            return _member_page(request, pk, page_error=_refusal(exc), status=400)


class MemberMergeSearchView(ManageMemberRequired, View):
    """Find the duplicate registration to fold into this member."""

    def get(self, request, pk: int):
        survivor = _member(pk)
        query = request.GET.get("q", "").strip()[:100]
        results = member_merge_candidates(survivor=survivor, query=query, limit=SEARCH_LIMIT) if query else []
        return render(request, "frontdesk/member_merge_search.html",
                      {"survivor": survivor, "query": query, "results": results})


class MemberMergeView(ManageMemberRequired, View):
    """Both members' key figures side by side, then `member_merge`; the survivor's page next."""

    template = "frontdesk/member_merge_confirm.html"

    def _render(self, request, survivor: Member, duplicate: Member, *, form=None, status: int = 200):
        return render(request, self.template, {
            "survivor": member_figures(member=survivor), "duplicate": member_figures(member=duplicate),
            "form": form or ConfirmForm()}, status=status)

    def get(self, request, pk: int, duplicate_pk: int):
        return self._render(request, _member(pk), _member(duplicate_pk))

    def post(self, request, pk: int, duplicate_pk: int):
        survivor, duplicate = _member(pk), _member(duplicate_pk)
        form = ConfirmForm(request.POST)

        def merge() -> str:
            member_merge(survivor=survivor, duplicate=duplicate, actor=request.user)
            return reverse("frontdesk:member_detail", args=[survivor.pk])

        text = _("%(duplicate)s (%(number)s) was merged into this member.") % {
            "duplicate": duplicate.name, "number": duplicate.member_number}
        try:
            return _after(request, submit_once(request, merge), text)
        except ValidationError as exc:
            form.add_error(None, _refusal(exc))
        return self._render(request, survivor, duplicate, form=form, status=400)
