"""The unsubscribe page an email's link opens: no sign-in, the signed token names the member."""

from django.shortcuts import render
from django.views import View

from campaigns.campaign_services import marketing_opt_out
from campaigns.running import unsubscribe_member_id
from members.models import ConsentRecord, Member
from messaging.models import Channel


def _member(token: str) -> Member | None:
    member_id = unsubscribe_member_id(token)
    return Member.objects.filter(pk=member_id).first() if member_id else None


class UnsubscribeView(View):
    def get(self, request, token: str):
        member = _member(token)
        return render(request, "campaigns/unsubscribe.html", {"invalid": member is None},
                      status=200 if member else 404)

    def post(self, request, token: str):
        member = _member(token)
        if member is None:
            return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
        marketing_opt_out(member=member, channel=Channel.EMAIL, via=ConsentRecord.Channel.UNSUBSCRIBE_LINK)
        return render(request, "campaigns/unsubscribe.html", {"done": True})
