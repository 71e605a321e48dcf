"""URLs of the public host: the platform console."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from clinic_loyalty.health import HealthView

urlpatterns = [
    path("", include("clinics.platform.urls")),
    path("health/", HealthView.as_view(), name="health"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

handler404 = "clinic_loyalty.error_views.not_found"
handler403 = "clinic_loyalty.error_views.forbidden"
handler500 = "clinic_loyalty.error_views.server_error"
