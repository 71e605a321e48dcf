"""The member portal's pages. Thin: each view checks the member session (member_required),
calls one service or selector scoped to `request.member`, and renders."""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sign_in_guard import SignInRefused, sign_in_check, sign_in_record
from appointments.online import treatments_bookable_online
from clinic_loyalty.form_errors import apply_validation_error
from members.models import NOTICE_PURPOSES
from members.naming import phone_display
from packages.selectors import member_packages
from points.rules import clinic_zone
from portal.auth import (
    COOKIE_PATH,
    client_ip,
    language_cookie_set,
    member_required,
    member_session_get,
    member_sign_in,
    member_sign_in_identifier,
    member_sign_out,
    safe_next,
)
from portal.forms import (
    CodeForm,
    ConsentChangeForm,
    ErasureRequestForm,
    JoinForm,
    LanguageForm,
    PhoneForm,
    ProfileForm,
    StatementFilterForm,
)
from portal.selectors import (
    STATEMENT_PAGE_SIZE,
    entry_description,
    erasure_requests_of,
    portal_consents,
    portal_home,
    portal_statement,
)
from portal.services import (
    PORTAL_CONSENT_PURPOSES,
    PROFILE_FIELDS,
    JoinInput,
    erasure_request_create,
    member_consent_set,
    member_data_export,
    member_join,
    member_language_set,
    member_profile_update,
    portal_settings,
)
from portal.signin import sign_in_code_request, sign_in_code_verify
from recommendations.selectors import member_recommendations
from storedvalue.selectors import card_balance

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
    if request.method == "GET" and member_session_get(request) is not None:
        return redirect(next_url)
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = sign_in_code_request(phone=form.cleaned_data["phone"], ip=client_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            query = urlencode({"p": _signed_phone(phone), "next": next_url})
            return redirect(f"{reverse('portal:verify')}?{query}")
    return render(request, "portal/signin.html", {"form": form, "next": next_url,
                                                  "join_enabled": portal_settings().join_enabled,
                                                  "ref": request.GET.get("ref", "")[:12]},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def verify(request):
    token = request.POST.get("p") or request.GET.get("p") or ""
    phone = _phone_from(token)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if phone is None:
        return redirect(f"{reverse('portal:signin')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        identifier = member_sign_in_identifier(phone)
        try:
            sign_in_check(request=request, identifier=identifier)
            member = sign_in_code_verify(phone=phone, code=form.cleaned_data["code"])
        except SignInRefused as exc:
            refused = exc
            form.add_error(None, exc.message_with_wait)
        except ValidationError as exc:
            sign_in_record(request=request, identifier=identifier, succeeded=False)
            form.add_error("code", exc)
        else:
            sign_in_record(request=request, identifier=identifier, succeeded=True)
            response = redirect(next_url)
            member_sign_in(request, response, member)
            return response
    response = render(request, "portal/verify.html",
                      {"form": form, "token": token, "next": next_url, "phone_display": phone_display(phone)},
                      status=429 if refused else 400 if form.errors else 200)
    if refused:
        response["Retry-After"] = str(refused.retry_after)
    return response


@require_POST
def signout(request):
    response = redirect("portal:signin")
    member_sign_out(request, response, everywhere=request.POST.get("everywhere") == "1")
    return response


@member_required
def home(request):
    recommended = member_recommendations(member=request.member, to_member=True, limit=3)
    bookable = set(treatments_bookable_online().filter(pk__in=[rec.item.pk for rec in recommended])
                   .values_list("pk", flat=True)) if recommended else set()
    return render(request, "portal/home.html", {"home": portal_home(member=request.member), "tz": clinic_zone(),
                                                "card": card_balance(request.member),
                                                "packages": member_packages(request.member, open_only=True),
                                                "recommended": [(rec, rec.item.pk in bookable) for rec in recommended]})


@member_required
def statement(request):
    form = StatementFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "portal/statement.html", {"form": form, "statement": None}, status=400)
    filters = form.cleaned_data if request.GET else {}
    page = filters.get("page") or 1
    result = portal_statement(member=request.member, kind=filters.get("kind") or "",
                              date_from=filters.get("date_from"), date_until=filters.get("date_until"), page=page)
    rows = [(entry, entry_description(entry)) for entry in result.entries]
    pages = max(1, -(-result.count // STATEMENT_PAGE_SIZE))
    query = {key: value for key, value in request.GET.items() if key != "page" and value}
    return render(request, "portal/statement.html", {
        "form": form, "statement": result, "rows": rows, "page": page, "pages": pages,
        "previous_url": f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        "next_url": f"?{urlencode({**query, 'page': page + 1})}" if page < pages else None})


@member_required
def profile(request):
    member = request.member
    return render(request, "portal/profile.html", {
        "language_form": LanguageForm(initial={"language": translation.get_language()}),
        "phone": phone_display(member.phone), "settings": portal_settings()})


@member_required
@require_http_methods(["GET", "POST"])
def profile_details(request):
    member = request.member
    if not portal_settings().profile_edit_enabled:
        return render(request, "portal/profile_details.html", {"form": None}, status=403)
    initial = {field: getattr(member, field) for field in PROFILE_FIELDS}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member_profile_update(member=member, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your details are saved."))
            return redirect("portal:profile")
    return render(request, "portal/profile_details.html", {"form": form},
                  status=400 if form.errors else 200)


@member_required
@require_POST
def profile_language(request):
    form = LanguageForm(request.POST)
    if form.is_valid():
        member_language_set(member=request.member, language=form.cleaned_data["language"])
        translation.activate(form.cleaned_data["language"])
        messages.success(request, _("Language changed."))
        response = redirect("portal:profile")
        language_cookie_set(response, form.cleaned_data["language"])
        return response
    return redirect("portal:profile")


@member_required
@require_http_methods(["GET", "POST"])
def profile_consent(request):
    member = request.member
    status = 200
    if request.method == "POST":
        form = ConsentChangeForm(request.POST, purposes=PORTAL_CONSENT_PURPOSES)
        if form.is_valid():
            member_consent_set(member=member, **form.cleaned_data)
            messages.success(request, _("Your choice is saved."))
            return redirect("portal:profile_consent")
        status = 400
    rows = portal_consents(member=member, purposes=PORTAL_CONSENT_PURPOSES)
    marketing = [row for row in rows if row.purpose not in NOTICE_PURPOSES]
    notices = [row for row in rows if row.purpose in NOTICE_PURPOSES]
    return render(request, "portal/profile_consent.html", {"marketing": marketing, "notices": notices},
                  status=status)


def _privacy(request, *, erasure_form=None, status=200):
    member = request.member
    return render(request, "portal/profile_privacy.html", {
        "erasure_form": erasure_form or ErasureRequestForm(),
        "requests": erasure_requests_of(member=member)}, status=status)


@member_required
def profile_privacy(request):
    return _privacy(request)


@member_required
@require_POST
def profile_export(request):
    data = member_data_export(member=request.member)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    day = timezone.localdate(timezone.now(), clinic_zone()).isoformat()
    response["Content-Disposition"] = f'attachment; filename="my-data-{request.member.member_number}-{day}.json"'
    return response


@member_required
@require_POST
def profile_erasure(request):
    form = ErasureRequestForm(request.POST)
    if form.is_valid():
        try:
            erasure_request_create(member=request.member, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your request is sent. The clinic will act on it and you can follow it here."))
            return redirect("portal:profile_privacy")
    return _privacy(request, erasure_form=form, status=400)


@require_http_methods(["GET", "POST"])
def join(request):
    rules = portal_settings()
    if not rules.join_enabled:
        return render(request, "portal/join.html", {"form": None}, status=404)
    form = JoinForm(request.POST or None, initial={"referral_code": request.GET.get("ref", "")[:12]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            phone = member_join(ip=client_ip(request), data=JoinInput(
                name=data["name"], phone=data["phone"], data_processing=data["data_processing"],
                marketing_sms=data["marketing_sms"], birthday=data["birthday"], email=data["email"],
                referral_code=data["referral_code"]))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            query = urlencode({"p": _signed_phone(phone), "next": reverse("portal:home")})
            return redirect(f"{reverse('portal:verify')}?{query}")
    return render(request, "portal/join.html", {"form": form}, status=400 if form.errors else 200)


def manifest(request):
    return render(request, "portal/manifest.webmanifest", {}, content_type="application/manifest+json")


def service_worker(request):
    response = render(request, "portal/sw.js", {}, content_type="text/javascript")
    response["Service-Worker-Allowed"] = COOKIE_PATH
    response["Cache-Control"] = "no-cache"
    return response
