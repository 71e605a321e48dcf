"""How job runs are named in the log and shown to people. A job's name is its Celery task's name;
a dispatcher's run is named after the task it sent to every clinic."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FAN_OUT_PREFIX = "fan-out:"

JOB_LABELS = {
    "accounts.tasks.sessions_clear": gettext_lazy("Clear expired sessions"),
    "points.tasks.points_expire": gettext_lazy("Expire points and coupons"),
    "points.tasks.points_expiry_warn": gettext_lazy("Warn of expiring points"),
    "packages.tasks.package_expiry_warn": gettext_lazy("Warn of expiring package sessions"),
    "tiers.tasks.tiers_evaluate_nightly": gettext_lazy("Tier evaluation"),
    "campaigns.tasks.birthday_offers_grant": gettext_lazy("Birthday offers"),
    "campaigns.tasks.campaigns_run_due": gettext_lazy("Campaigns: offers and messages due"),
    "campaigns.tasks.campaign_results_due": gettext_lazy("Campaigns: measured results"),
    "messaging.tasks.messages_deliver_due": gettext_lazy("Deliver messages"),
    "appointments.tasks.appointment_reminders_send": gettext_lazy("Appointment reminders"),
    "portal.tasks.portal_records_clear": gettext_lazy("Clear ended member sign-ins"),
    "feedback.tasks.feedback_surveys_send": gettext_lazy("Satisfaction surveys and follow-ups"),
    "feedback.tasks.recall_followups_create": gettext_lazy("Recall follow-ups"),
    "insights.tasks.customer_value_fit_nightly": gettext_lazy("Predictive CLV fit"),
    "segments.tasks.member_scores_nightly": gettext_lazy("RFM scores and lifecycle stages"),
    "recommendations.tasks.recommendations_learn_nightly": gettext_lazy("Recommendations learning"),
}

COUNT_LABELS = {
    "clinics": gettext_lazy("clinics"),
    "visit_lines": gettext_lazy("visit lines read"),
    "intervals": gettext_lazy("item intervals"),
    "associations": gettext_lazy("item pairs"),
    "popular": gettext_lazy("popular items"),
    "deleted": gettext_lazy("deleted"),
    "sessions_deleted": gettext_lazy("member sessions deleted"),
    "codes_deleted": gettext_lazy("sign-in codes deleted"),
    "lots_expired": gettext_lazy("lots expired"),
    "coupons_expired": gettext_lazy("coupons expired"),
    "warnings_queued": gettext_lazy("warnings queued"),
    "warnings_skipped": gettext_lazy("warnings skipped"),
    "evaluated": gettext_lazy("members evaluated"),
    "upgraded": gettext_lazy("upgraded"),
    "downgraded": gettext_lazy("downgraded"),
    "grace_started": gettext_lazy("grace periods started"),
    "grace_cleared": gettext_lazy("grace periods cleared"),
    "granted": gettext_lazy("offers granted"),
    "points": gettext_lazy("points given"),
    "coupons": gettext_lazy("coupons issued"),
    "messages_queued": gettext_lazy("messages queued"),
    "messages_skipped": gettext_lazy("messages skipped"),
    "sent": gettext_lazy("sent"),
    "retrying": gettext_lazy("to retry"),
    "failed": gettext_lazy("failed"),
    "reminders_sent": gettext_lazy("reminders sent"),
    "reminders_skipped": gettext_lazy("reminders skipped"),
    "reminders_cancelled": gettext_lazy("stale reminders cancelled"),
    "reminders_failed": gettext_lazy("reminders failed"),
    "surveys_planned": gettext_lazy("surveys planned"),
    "surveys_sent": gettext_lazy("surveys sent"),
    "surveys_skipped": gettext_lazy("surveys not sent"),
    "followups_created": gettext_lazy("follow-ups created"),
    "fits_made": gettext_lazy("fits made"),
    "members_predicted": gettext_lazy("members predicted"),
    "campaigns": gettext_lazy("campaigns"),
    "occurrences": gettext_lazy("occurrences run"),
    "computed": gettext_lazy("results computed"),
    "members_scored": gettext_lazy("members scored"),
}


def fan_out_job(task_name: str) -> str:
    return f"{FAN_OUT_PREFIX}{task_name}"


def job_label(job: str) -> str:
    task_name = job.removeprefix(FAN_OUT_PREFIX)
    label = str(JOB_LABELS.get(task_name, task_name))
    if task_name != job:
        return _("%(job)s (sent to each clinic)") % {"job": label}
    return label


def counts_label(counts: dict[str, int]) -> str:
    return ", ".join(f"{COUNT_LABELS.get(key, key)}: {value}" for key, value in counts.items())
