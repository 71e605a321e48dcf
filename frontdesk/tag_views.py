"""Tags on the member page: staff add or remove a free tag; the tags box is swapped in place."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from frontdesk.base_views import StaffPermissionRequired
from members.models import Member
from members.services import member_tag_add, member_tag_remove


def tags_box(request, member: Member, *, error: str | None = None, status: int = 200):
    history = member.tag_events.select_related("actor")[:10]
    return render(request, "frontdesk/_member_tags.html", {"m": member, "tag_history": history, "tag_error": error},
                  status=status)


class MemberTagsView(StaffPermissionRequired, View):
    def get(self, request, pk: int):
        return tags_box(request, get_object_or_404(Member, pk=pk))

    def post(self, request, pk: int):
        member = get_object_or_404(Member, pk=pk)
        change = member_tag_remove if request.POST.get("action") == "remove" else member_tag_add
        try:
            member = change(member=member, actor=request.user, tag=request.POST.get("tag", ""))
        except ValidationError as exc:
            return tags_box(request, member, error=" ".join(exc.messages), status=400)
        if request.headers.get("HX-Request"):
            return tags_box(request, member)
        return redirect("frontdesk:member_detail", pk=member.pk)
