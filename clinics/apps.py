from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Clinics")

    def ready(self) -> None:
        from clinic_loyalty.database import connection_setup_install
        from clinic_loyalty.migration_recorder import recorder_lookup_install

        recorder_lookup_install()
        connection_setup_install()
