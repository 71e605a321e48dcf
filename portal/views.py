"""The member portal's pages. Thin: each view checks the member session (member_required),
calls one service or selector scoped to `request.member`, and renders."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from members.naming import phone_display
from portal.auth import client_ip, member_required, member_sign_in, member_sign_out, safe_next
from portal.forms import CodeForm, PhoneForm
from portal.signin import sign_in_code_request, sign_in_code_verify

PHONE_SALT = "portal.verify.phone"
PHONE_MAX_AGE = 15 * 60


def _signed_phone(phone: str) -> str:
    return signing.dumps(phone, salt=PHONE_SALT)


def _phone_from(token: str) -> str | None:
    try:
        return signing.loads(token, salt=PHONE_SALT, max_age=PHONE_MAX_AGE)
    except signing.BadSignature:
        return None


@require_http_methods(["GET", "POST"])
def signin(request):
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = sign_in_code_request(phone=form.cleaned_data["phone"], ip=client_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            query = urlencode({"p": _signed_phone(phone), "next": next_url})
            return redirect(f"{reverse('portal:verify')}?{query}")
    return render(request, "portal/signin.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
def verify(request):
    token = request.POST.get("p") or request.GET.get("p") or ""
    phone = _phone_from(token)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if phone is None:
        return redirect(f"{reverse('portal:signin')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = sign_in_code_verify(phone=phone, code=form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            response = redirect(next_url)
            member_sign_in(request, response, member)
            return response
    return render(request, "portal/verify.html",
                  {"form": form, "token": token, "next": next_url, "phone_display": phone_display(phone)})


@require_POST
def signout(request):
    response = redirect("portal:signin")
    member_sign_out(request, response, everywhere=request.POST.get("everywhere") == "1")
    return response


@member_required
def home(request):
    return render(request, "portal/home.html", {})


@member_required
def statement(request):
    return render(request, "portal/statement.html", {})


@member_required
def profile(request):
    return render(request, "portal/profile.html", {})


@require_http_methods(["GET", "POST"])
def join(request):
    return render(request, "portal/join.html", {})
