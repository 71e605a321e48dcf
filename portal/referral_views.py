"""The member's referral page: their link to the portal's join page with their code, as text and
as a QR code, a message to share, and the people they referred with how far each has come
(joined, first visit, referral points given), from the existing referral figures."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from clinic_loyalty.qr import qr_svg
from clinics.context import current_clinic
from points.rules import loyalty_settings
from points.selectors import referral_stats
from portal.auth import member_required


def name_masked(name: str) -> str:
    """A referred person's name as their referrer sees it: the first character, the rest hidden."""
    name = name.strip()
    return f"{name[:1]}{'*' * min(max(len(name) - 1, 1), 3)}" if name else "*"


@member_required
def referral(request):
    member = request.member
    link = request.build_absolute_uri(f"{reverse('portal:join')}?{urlencode({'ref': member.referral_code})}")
    rules = loyalty_settings()
    clinic = current_clinic()
    if rules.referral_bonus_referee:
        share = _("Join %(clinic)s with my link and get %(points)s bonus points: %(link)s") % {
            "clinic": clinic.name, "points": rules.referral_bonus_referee, "link": link}
    else:
        share = _("Join %(clinic)s with my link: %(link)s") % {"clinic": clinic.name, "link": link}
    stats = referral_stats(member=member)
    referees = [{"name": name_masked(row.member.name), "joined_on": row.member.joined_on,
                 "first_visit": row.first_paid_visit_at, "points": row.bonus_points} for row in stats.referees]
    return render(request, "portal/referral.html", {
        "link": link, "code": member.referral_code, "qr": qr_svg(link, title=member.referral_code),
        "share": share, "stats": stats, "referees": referees, "rules": rules, "tz": clinic.zone})
