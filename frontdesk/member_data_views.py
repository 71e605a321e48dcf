"""A member's data on request: the export (everything the clinic holds, as a JSON file), the
erasure with its confirmation, and the log of who read the medical profile. The views check the
role and call `members.selectors.member_export`, `members.services.member_erase` and
`members.selectors.medical_access_log`, the same functions as the API."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from frontdesk.base_views import StaffPermissionRequired, _member, form_submitted
from frontdesk.forms import EraseForm
from members.models import Member
from members.selectors import medical_access_log, member_export
from members.services import member_erase
from points.rules import clinic_zone

ACCESS_LOG_LIMIT = 200


class MemberExportView(StaffPermissionRequired, View):
    """GET explains the export; POST downloads it (a POST, as each export is recorded)."""

    permission_required = "members.export_member"

    def get(self, request, pk: int):
        return render(request, "frontdesk/member_data/export.html", {"member": _member(pk)})

    def post(self, request, pk: int):
        member = _member(pk)
        data = member_export(member=member, actor=request.user)
        stamp = timezone.localtime(timezone.now(), clinic_zone()).strftime("%Y%m%d-%H%M")
        response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="member-{member.member_number}-{stamp}.json"'
        return response


class MemberEraseView(StaffPermissionRequired, View):
    """What erasing removes and what it keeps for the accounts, then the erasure once the member
    number is typed again and a reason given."""

    permission_required = "members.manage_member"
    template = "frontdesk/member_data/erase.html"

    def _render(self, request, member: Member, form, status=200):
        return render(request, self.template, {"member": member, "form": form}, status=status)

    def get(self, request, pk: int):
        member = _member(pk)
        return self._render(request, member, EraseForm(member=member))

    def post(self, request, pk: int):
        member = _member(pk)
        form = EraseForm(request.POST, member=member)
        if form.is_valid():
            def erase() -> str:
                member_erase(member=member, actor=request.user, reason=form.cleaned_data["reason"])
                return reverse("frontdesk:member_detail", args=[member.pk])

            if response := form_submitted(request, form, erase, _("The member's personal data was erased.")):
                return response
        return self._render(request, member, form, status=400)


class MedicalAccessLogView(StaffPermissionRequired, View):
    permission_required = "accounts.view_medical"

    def get(self, request, pk: int):
        member = _member(pk)
        rows = medical_access_log(member=member, actor=request.user)
        return render(request, "frontdesk/member_data/medical_log.html",
                      {"member": member, "rows": rows[:ACCESS_LOG_LIMIT], "count": rows.count(),
                       "limit": ACCESS_LOG_LIMIT, "tz": clinic_zone()})
