"""URLs of a clinic's host (<slug>.<base domain>)."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from clinic_loyalty.health import HealthView
from feedback.views import SurveyOptOutView, SurveyView

urlpatterns = [
    path("", include("frontdesk.urls")),
    path("accounts/", include("accounts.urls")),
    path("manage/", include("manager.urls")),
    path("m/", include("portal.urls")),
    path("insights/", include("insights.page_urls")),
    path("stored-value/", include("storedvalue.page_urls")),
    path("followups/", include("feedback.urls")),
    path("s/<str:token>/", SurveyView.as_view(), name="survey"),
    path("s/<str:token>/stop/", SurveyOptOutView.as_view(), name="survey_opt_out"),
    path("api/v1/", include("clinic_loyalty.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("health/", HealthView.as_view(), name="health"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

handler404 = "clinic_loyalty.error_views.not_found"
handler403 = "clinic_loyalty.error_views.forbidden"
handler500 = "clinic_loyalty.error_views.server_error"
