from django.urls import path

from appointments.api import availability, bookings, calendar, members, policy, resources

urlpatterns = [
    path("locations/", resources.LocationListApi.as_view(), name="api-appt-locations"),
    path("locations/<int:pk>/", resources.LocationDetailApi.as_view(), name="api-appt-location"),
    path("resource-types/", resources.ResourceTypeListApi.as_view(), name="api-appt-resource-types"),
    path("resources/", resources.ResourceListApi.as_view(), name="api-appt-resources"),
    path("resources/<int:pk>/", resources.ResourceDetailApi.as_view(), name="api-appt-resource"),
    path("practitioners/", resources.PractitionerListApi.as_view(), name="api-appt-practitioners"),
    path("practitioners/<int:pk>/", resources.PractitionerDetailApi.as_view(), name="api-appt-practitioner"),
    path("practitioners/<int:pk>/hours/", resources.PractitionerHoursApi.as_view(), name="api-appt-hours"),
    path("exceptions/", resources.ExceptionListApi.as_view(), name="api-appt-exceptions"),
    path("exceptions/<int:pk>/", resources.ExceptionDetailApi.as_view(), name="api-appt-exception"),
    path("treatments/<int:pk>/requirements/", resources.TreatmentRequirementsApi.as_view(),
         name="api-appt-requirements"),
    path("policy/", policy.PolicyApi.as_view(), name="api-appt-policy"),
    path("availability/", availability.AvailabilityApi.as_view(), name="api-appt-availability"),
    path("bookings/", bookings.BookingListApi.as_view(), name="api-appt-bookings"),
    path("bookings/<int:pk>/", bookings.BookingDetailApi.as_view(), name="api-appt-booking"),
    path("bookings/<int:pk>/reschedule/", bookings.BookingRescheduleApi.as_view(), name="api-appt-reschedule"),
    path("bookings/<int:pk>/cancel/", bookings.BookingCancelApi.as_view(), name="api-appt-cancel"),
    path("bookings/<int:pk>/confirm/", bookings.BookingConfirmApi.as_view(), name="api-appt-confirm"),
    path("bookings/<int:pk>/check-in/", bookings.BookingCheckInApi.as_view(), name="api-appt-check-in"),
    path("bookings/<int:pk>/complete/", bookings.BookingCompleteApi.as_view(), name="api-appt-complete"),
    path("bookings/<int:pk>/no-show/", bookings.BookingNoShowApi.as_view(), name="api-appt-no-show"),
    path("bookings/<int:pk>/deposit/", bookings.BookingDepositApi.as_view(), name="api-appt-deposit"),
    path("bookings/<int:pk>/checkout/", bookings.BookingCheckoutApi.as_view(), name="api-appt-checkout"),
    path("bookings/<int:pk>/ics/", bookings.BookingIcsApi.as_view(), name="api-appt-ics"),
    path("calendar/", calendar.CalendarApi.as_view(), name="api-appt-calendar"),
    path("recall/", members.RecallListApi.as_view(), name="api-appt-recall"),
    path("members/<int:pk>/attendance/", members.MemberAttendanceApi.as_view(), name="api-appt-attendance"),
]
