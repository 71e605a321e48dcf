from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        from appointments.services import bookings_erase, bookings_merge
        from members import services as member_services

        member_services.MERGE_STEPS.append(bookings_merge)
        member_services.ERASE_STEPS.append(bookings_erase)
