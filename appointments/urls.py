from django.urls import path

from appointments import api

urlpatterns = [
    path("locations/", api.LocationListApi.as_view(), name="api-appt-locations"),
    path("locations/<int:pk>/", api.LocationDetailApi.as_view(), name="api-appt-location"),
    path("resource-types/", api.ResourceTypeListApi.as_view(), name="api-appt-resource-types"),
    path("resources/", api.ResourceListApi.as_view(), name="api-appt-resources"),
    path("resources/<int:pk>/", api.ResourceDetailApi.as_view(), name="api-appt-resource"),
    path("practitioners/", api.PractitionerListApi.as_view(), name="api-appt-practitioners"),
    path("practitioners/<int:pk>/", api.PractitionerDetailApi.as_view(), name="api-appt-practitioner"),
    path("practitioners/<int:pk>/hours/", api.PractitionerHoursApi.as_view(), name="api-appt-hours"),
    path("exceptions/", api.ExceptionListApi.as_view(), name="api-appt-exceptions"),
    path("exceptions/<int:pk>/", api.ExceptionDetailApi.as_view(), name="api-appt-exception"),
    path("treatments/<int:pk>/requirements/", api.TreatmentRequirementsApi.as_view(), name="api-appt-requirements"),
    path("policy/", api.PolicyApi.as_view(), name="api-appt-policy"),
    path("availability/", api.AvailabilityApi.as_view(), name="api-appt-availability"),
    path("bookings/", api.BookingListApi.as_view(), name="api-appt-bookings"),
    path("bookings/<int:pk>/", api.BookingDetailApi.as_view(), name="api-appt-booking"),
    path("bookings/<int:pk>/reschedule/", api.BookingRescheduleApi.as_view(), name="api-appt-reschedule"),
    path("bookings/<int:pk>/cancel/", api.BookingCancelApi.as_view(), name="api-appt-cancel"),
    path("bookings/<int:pk>/confirm/", api.BookingConfirmApi.as_view(), name="api-appt-confirm"),
    path("bookings/<int:pk>/check-in/", api.BookingCheckInApi.as_view(), name="api-appt-check-in"),
    path("bookings/<int:pk>/complete/", api.BookingCompleteApi.as_view(), name="api-appt-complete"),
    path("bookings/<int:pk>/no-show/", api.BookingNoShowApi.as_view(), name="api-appt-no-show"),
    path("bookings/<int:pk>/deposit/", api.BookingDepositApi.as_view(), name="api-appt-deposit"),
    path("bookings/<int:pk>/checkout/", api.BookingCheckoutApi.as_view(), name="api-appt-checkout"),
    path("bookings/<int:pk>/ics/", api.BookingIcsApi.as_view(), name="api-appt-ics"),
    path("calendar/", api.CalendarApi.as_view(), name="api-appt-calendar"),
    path("recall/", api.RecallListApi.as_view(), name="api-appt-recall"),
    path("members/<int:pk>/attendance/", api.MemberAttendanceApi.as_view(), name="api-appt-attendance"),
]
