"""Staff account tasks. Each runs in the schema it was sent from (see clinic_loyalty/celery.py)."""

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from accounts import services
from accounts.models import SignInAlert, User
from accounts.sessions import sessions_expired_delete
from clinics.context import current_clinic
from jobs.recording import job_run_recorded


@shared_task(autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)
def staff_invitation_send(user_id: int) -> None:
    """Send the invitation to set a password; skipped if the account is gone or deactivated."""
    if current_clinic() is None:
        raise RuntimeError("staff_invitation_send runs only in a clinic's schema.")
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        services.staff_invitation_send(user=user)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sessions_clear(self) -> dict[str, int]:
    """Delete expired sessions in the current schema: a clinic's, or the platform's."""
    with job_run_recorded(self.name) as counts:
        counts["deleted"] = sessions_expired_delete()
    return counts


@shared_task(autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)
def sign_in_alert_send(alert_id: int) -> None:
    """Tell the owners of many failed sign-ins for one identifier; runs in the schema it was sent from."""
    alert = SignInAlert.objects.filter(pk=alert_id).first()
    if alert is not None:
        services.sign_in_alert_send(alert=alert)


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sign_in_attempts_prune(self) -> dict[str, int]:
    """Delete sign-in records that no longer count, in the current schema."""
    with job_run_recorded(self.name) as counts:
        counts["deleted"] = services.sign_in_attempts_prune()
    return counts
