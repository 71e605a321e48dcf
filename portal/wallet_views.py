"""The wallet: the member's coupons still to use and the history of used, expired and cancelled
ones; each coupon with its code as a QR code and in readable groups, for the front desk to scan
or type at checkout."""

from django.http import Http404
from django.shortcuts import render

from clinic_loyalty.qr import qr_svg
from clinics.context import current_clinic
from points.selectors import coupon_code_display, coupon_conditions, member_coupon_get, member_wallet
from portal.auth import member_required

SCANNABLE = ("ready", "not_yet")


@member_required
def wallet(request):
    tab = "history" if request.GET.get("tab") == "history" else "active"
    return render(request, "portal/wallet.html", {"wallet": member_wallet(member=request.member), "tab": tab})


@member_required
def wallet_coupon(request, pk: int):
    item = member_coupon_get(member=request.member, pk=pk)
    if item is None:
        raise Http404
    code = coupon_code_display(item.coupon.code)
    currency = current_clinic().currency
    return render(request, "portal/wallet_coupon.html", {
        "item": item, "code": code, "qr": qr_svg(item.coupon.code, title=code) if item.state in SCANNABLE else "",
        "conditions": coupon_conditions(item.coupon.template, currency=currency)})
