from django.urls import path

from portal import booking_views, feedback_views, mall_views, referral_views, views, wallet_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.verify, name="verify"),
    path("signout/", views.signout, name="signout"),
    path("join/", views.join, name="join"),
    path("statement/", views.statement, name="statement"),
    path("me/", views.profile, name="profile"),
    path("me/details/", views.profile_details, name="profile_details"),
    path("me/language/", views.profile_language, name="profile_language"),
    path("me/consent/", views.profile_consent, name="profile_consent"),
    path("me/privacy/", views.profile_privacy, name="profile_privacy"),
    path("me/privacy/export/", views.profile_export, name="profile_export"),
    path("me/privacy/erasure/", views.profile_erasure, name="profile_erasure"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("mall/", mall_views.mall, name="mall"),
    path("mall/<int:pk>/", mall_views.mall_confirm, name="mall_confirm"),
    path("wallet/", wallet_views.wallet, name="wallet"),
    path("wallet/<int:pk>/", wallet_views.wallet_coupon, name="wallet_coupon"),
    path("appointments/", booking_views.appointments, name="appointments"),
    path("appointments/book/", booking_views.book, name="book"),
    path("appointments/<int:pk>/", booking_views.appointment, name="appointment"),
    path("appointments/<int:pk>/reschedule/", booking_views.reschedule, name="appointment_reschedule"),
    path("appointments/<int:pk>/cancel/", booking_views.cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/calendar.ics", booking_views.appointment_ics, name="appointment_ics"),
    path("referral/", referral_views.referral, name="referral"),
    path("surveys/", feedback_views.surveys, name="surveys"),
]
