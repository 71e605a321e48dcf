from django.apps import AppConfig


class FleetAppConfig(AppConfig):
    name = "bench.fleet_app"
    label = "fleet_app"
    default_auto_field = "django.db.models.BigAutoField"
