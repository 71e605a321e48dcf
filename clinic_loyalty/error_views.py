"""Error pages: HTML for people, the API's JSON error shape under /api/."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from clinic_loyalty.api_errors import error_body


def _error(request, status: int, code: str, title: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def not_found(request, exception=None):
    return _error(request, 404, "not_found", _("Page not found"),
                  _("The page you asked for does not exist."))


def forbidden(request, exception=None):
    return _error(request, 403, "permission_denied", _("Not allowed"),
                  _("Your role does not allow this page. Ask a manager if you need it."))


def server_error(request):
    return _error(request, 500, "server_error", _("Something went wrong"),
                  _("The error has been logged. Please try again in a moment."))
