from django.urls import path

from audit import views as audit_views
from feedback import views as feedback_views
from manager import messaging_views, portal_views, views

app_name = "manager"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("tiers/", views.TierProgrammeView.as_view(), name="tiers"),
    path("tiers/new/", views.TierFormView.as_view(), name="tier_create"),
    path("tiers/<int:pk>/", views.TierFormView.as_view(), name="tier_edit"),
    path("tiers/<int:pk>/delete/", views.TierDeleteView.as_view(), name="tier_delete"),
    path("points/", views.LoyaltySettingsView.as_view(), name="points"),
    path("insights/", views.InsightsSettingsView.as_view(), name="insights_settings"),
    path("rewards/", views.RewardListView.as_view(), name="rewards"),
    path("rewards/new/", views.RewardFormView.as_view(), name="reward_create"),
    path("rewards/<int:pk>/", views.RewardFormView.as_view(), name="reward_edit"),
    path("rewards/<int:pk>/active/", views.RewardActiveView.as_view(), name="reward_active"),
    path("coupons/", views.CouponTemplateListView.as_view(), name="coupons"),
    path("coupons/new/", views.CouponTemplateFormView.as_view(), name="coupon_create"),
    path("coupons/<int:pk>/", views.CouponTemplateFormView.as_view(), name="coupon_edit"),
    path("coupons/<int:pk>/active/", views.CouponTemplateActiveView.as_view(), name="coupon_active"),
    path("catalogue/", views.CatalogueView.as_view(), name="catalogue"),
    path("online-booking/", views.OnlineBookingView.as_view(), name="online_booking"),
    path("catalogue/items/new/", views.CatalogueItemFormView.as_view(), name="item_create"),
    path("catalogue/items/<int:pk>/", views.CatalogueItemFormView.as_view(), name="item_edit"),
    path("catalogue/items/<int:pk>/active/", views.CatalogueItemActiveView.as_view(), name="item_active"),
    path("catalogue/categories/new/", views.CategoryFormView.as_view(), name="category_create"),
    path("catalogue/categories/<int:pk>/", views.CategoryFormView.as_view(), name="category_edit"),
    path("catalogue/categories/<int:pk>/delete/", views.CategoryDeleteView.as_view(), name="category_delete"),
    path("messages/", messaging_views.MessageLogView.as_view(), name="message_log"),
    path("messages/<int:pk>/", messaging_views.MessageDetailView.as_view(), name="message_detail"),
    path("messages/settings/", messaging_views.MessagingSettingsView.as_view(), name="messaging_settings"),
    path("messages/templates/", messaging_views.MessageTemplateListView.as_view(), name="message_templates"),
    path("messages/templates/<int:pk>/", messaging_views.MessageTemplateEditView.as_view(),
         name="message_template_edit"),
    path("messages/templates/<int:pk>/preview/", messaging_views.MessageTemplatePreviewView.as_view(),
         name="message_template_preview"),
    path("messages/templates/<int:pk>/restore/", messaging_views.MessageTemplateRestoreView.as_view(),
         name="message_template_restore"),
    path("portal/", portal_views.PortalSettingsView.as_view(), name="portal_settings"),
    path("erasure-requests/", portal_views.ErasureRequestsView.as_view(), name="erasure_requests"),
    path("erasure-requests/<int:pk>/", portal_views.ErasureRequestsView.as_view(), name="erasure_request_decide"),
    path("birthday-offer/", messaging_views.BirthdayOfferView.as_view(), name="birthday_offer"),
    path("audit-log/", audit_views.AuditLogView.as_view(), name="audit_log"),
    path("surveys/", feedback_views.SurveySettingsView.as_view(), name="surveys"),
    path("surveys/rules/", feedback_views.FollowUpRuleCreateView.as_view(), name="followup_rule_create"),
    path("surveys/rules/<int:pk>/delete/", feedback_views.FollowUpRuleDeleteView.as_view(),
         name="followup_rule_delete"),
]
