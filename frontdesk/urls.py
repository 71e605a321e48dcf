from django.urls import path

from frontdesk import booking_views, schedule_views, views
from packages import views as package_views

app_name = "frontdesk"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("members/", views.MemberSearchView.as_view(), name="member_search"),
    path("members/new/", views.MemberRegisterView.as_view(), name="member_register"),
    path("members/phone-check/", views.PhoneCheckView.as_view(), name="phone_check"),
    path("members/<int:pk>/", views.MemberDetailView.as_view(), name="member_detail"),
    path("members/<int:pk>/edit/", views.MemberEditView.as_view(), name="member_edit"),
    path("members/<int:pk>/consents/", views.ConsentRecordView.as_view(), name="member_consent"),
    path("members/<int:pk>/messages/", views.MemberMessagesView.as_view(), name="member_messages"),
    path("members/<int:pk>/medical/", views.MedicalDetailsView.as_view(), name="member_medical"),
    path("members/<int:pk>/medical/edit/", views.MedicalEditView.as_view(), name="member_medical_edit"),
    path("members/<int:pk>/archive/", views.MemberArchiveView.as_view(), name="member_archive"),
    path("members/<int:pk>/restore/", views.MemberRestoreView.as_view(), name="member_restore"),
    path("members/<int:pk>/merge/", views.MemberMergeSearchView.as_view(), name="member_merge_search"),
    path("members/<int:pk>/merge/<int:duplicate_pk>/", views.MemberMergeView.as_view(), name="member_merge"),
    path("members/<int:pk>/checkout/", views.CheckoutView.as_view(), name="checkout"),
    path("members/<int:pk>/checkout/quote/", views.CheckoutQuoteView.as_view(), name="checkout_quote"),
    path("members/<int:pk>/rewards/", views.RewardsView.as_view(), name="rewards"),
    path("members/<int:pk>/adjust/", views.AdjustmentView.as_view(), name="adjust"),
    path("visits/<int:pk>/receipt/", views.ReceiptView.as_view(), name="receipt"),
    path("visits/<int:pk>/refund/", views.RefundView.as_view(), name="refund"),
    path("packages/<int:pk>/refund/", package_views.PackageRefundView.as_view(), name="package_refund"),
    path("points/approvals/", views.ApprovalQueueView.as_view(), name="approvals"),
    path("points/approvals/<int:pk>/", views.ApprovalQueueView.as_view(), name="approval_decide"),
    path("appointments/", booking_views.DayCalendarView.as_view(), name="calendar"),
    path("appointments/week/", booking_views.WeekCalendarView.as_view(), name="calendar_week"),
    path("appointments/exceptions/", schedule_views.ScheduleExceptionsView.as_view(), name="schedule_exceptions"),
    path("appointments/exceptions/<int:pk>/delete/", schedule_views.ScheduleExceptionDeleteView.as_view(),
         name="schedule_exception_delete"),
    path("appointments/new/", booking_views.BookView.as_view(), name="booking_new"),
    path("appointments/slots/", booking_views.SlotsView.as_view(), name="booking_slots"),
    path("appointments/<int:pk>/", booking_views.BookingDetailView.as_view(), name="booking_detail"),
    path("appointments/<int:pk>/reschedule/", booking_views.RescheduleView.as_view(), name="booking_reschedule"),
    path("appointments/<int:pk>/cancel/", booking_views.CancelView.as_view(), name="booking_cancel"),
    path("appointments/<int:pk>/status/", booking_views.BookingActionView.as_view(), name="booking_action"),
    path("appointments/<int:pk>/deposit/", booking_views.DepositView.as_view(), name="booking_deposit"),
    path("settings/jobs/", views.JobRunListView.as_view(), name="job_runs"),
]
