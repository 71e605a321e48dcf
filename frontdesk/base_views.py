"""What every front-desk page shares: the role check, the member lookup and the answer after a
form sent through `submit_once`."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from accounts.page_permissions import PermissionRequired
from clinic_loyalty.form_errors import apply_validation_error
from idempotency.forms import submit_once
from members.models import Member

SEARCH_LIMIT = 20


class StaffPermissionRequired(PermissionRequired):
    """Anonymous visitors go to the login page; staff without the permission get a 403."""

    permission_required = "accounts.use_frontdesk"


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _member(pk: int) -> Member:
    return get_object_or_404(Member, pk=pk)


def _after(request, submission, success: str | None = None):
    if submission.replayed:
        messages.info(request, _("This form had already been sent; nothing was done twice."))
    elif success:
        messages.success(request, success)
    return redirect(submission.location)


def form_submitted(request, form, action, success: str | None = None, field_names: dict | None = None):
    """Run `action` (a service call answering the next page's address) once, through
    `submit_once`, and redirect. None when the service refused it: its errors are then on `form`,
    next to their fields (`field_names` maps the service's names to the form's)."""
    try:
        return _after(request, submit_once(request, action), success)
    except ValidationError as exc:
        apply_validation_error(form, exc, field_names)
        return None
