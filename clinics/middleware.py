"""Request plumbing around the tenant middleware: suspension, language, and sessions that are
valid only on the clinic that issued them."""

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseForbidden, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from clinic_loyalty.database import statements_prepared
from clinics.models import Clinic, Domain

SESSION_CLINIC_KEY = "_clinic_schema"


def request_clinic(request) -> Clinic | None:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return None
    return tenant


class ClinicTenantMiddleware(TenantMainMiddleware):
    """django-tenants' TenantMainMiddleware, finding the clinic of the request's host with one
    plain query (every request does this) instead of the ORM's join of domain and clinic."""

    def get_tenant(self, domain_model, hostname):
        # The clinic's columns are named, not `c.*`: a prepared statement must keep its result's
        # columns when a migration adds one.
        columns = ", ".join(f"c.{field.column}" for field in Clinic._meta.concrete_fields)
        sql = (f"SELECT {columns} FROM {Clinic._meta.db_table} c "  # noqa: S608 - table names from the models
               f"JOIN {Domain._meta.db_table} d ON d.tenant_id = c.id WHERE d.domain = %s")
        with statements_prepared():  # a lookup by key, on every request
            clinic = next(iter(Clinic.objects.raw(sql, [hostname])), None)
        if clinic is None:
            raise domain_model.DoesNotExist
        return clinic


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


class ClinicSuspendedMiddleware:
    """A suspended clinic answers every page and API call with a clear message, and does nothing."""

    EXEMPT_PATHS = ("/health/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clinic = request_clinic(request)
        if clinic and clinic.is_suspended and not request.path.startswith(self.EXEMPT_PATHS):
            message = translation.gettext(
                "This clinic's account is suspended. Please contact the clinic or Clinic Loyalty support.")
            if _wants_json(request):
                return JsonResponse({"error": {"code": "clinic_suspended", "message": message,
                                               "fields": {}}}, status=403)
            html = render_to_string("clinics/suspended.html", {"clinic": clinic, "message": message})
            return HttpResponseForbidden(html)
        return self.get_response(request)


def _accepted_language(request) -> str | None:
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


class ClinicLanguageMiddleware:
    """Language: the person's own choice (cookie); then, for API clients, the Accept-Language
    they send; then the clinic's language; on the platform host, the browser's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        clinic = request_clinic(request)
        accepted = _accepted_language(request) if _wants_json(request) else None
        if chosen in supported:
            language = chosen
        elif accepted:
            language = accepted
        elif clinic is not None:
            language = clinic.language
        else:
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class SessionBoundToClinicMiddleware:
    """A session belongs to the schema that created it. Sessions live in each clinic's own
    schema already; this check also refuses a session carried to another host by any route."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        schema = getattr(getattr(request, "tenant", None), "schema_name", None)
        if request.user.is_authenticated:
            bound = request.session.get(SESSION_CLINIC_KEY)
            if bound is None:
                request.session[SESSION_CLINIC_KEY] = schema
            elif bound != schema:
                logout(request)
        return self.get_response(request)
