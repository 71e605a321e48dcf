from django.urls import path

from points import api

urlpatterns = [
    path("settings/", api.LoyaltySettingsApi.as_view(), name="api-loyalty-settings"),
    path("members/<int:pk>/balance/", api.MemberBalanceApi.as_view(), name="api-points-balance"),
    path("members/<int:pk>/statement/", api.MemberStatementApi.as_view(), name="api-points-statement"),
    path("members/<int:pk>/adjustments/", api.MemberAdjustmentsApi.as_view(), name="api-adjustments-of"),
    path("members/<int:pk>/redemptions/", api.MemberRedemptionsApi.as_view(), name="api-redemptions-of"),
    path("adjustments/", api.AdjustmentListApi.as_view(), name="api-adjustments"),
    path("adjustments/<int:pk>/approve/", api.AdjustmentApproveApi.as_view(), name="api-adjustment-approve"),
    path("adjustments/<int:pk>/reject/", api.AdjustmentRejectApi.as_view(), name="api-adjustment-reject"),
    path("rewards/", api.RewardListApi.as_view(), name="api-rewards"),
    path("rewards/<int:pk>/", api.RewardDetailApi.as_view(), name="api-reward"),
    path("rewards/<int:pk>/redeem/", api.RewardRedeemApi.as_view(), name="api-reward-redeem"),
    path("redemptions/<int:pk>/cancel/", api.RedemptionCancelApi.as_view(), name="api-redemption-cancel"),
    path("coupon-templates/", api.CouponTemplateListApi.as_view(), name="api-coupon-templates"),
    path("coupon-templates/<int:pk>/", api.CouponTemplateDetailApi.as_view(), name="api-coupon-template"),
    path("coupon-templates/<int:pk>/bulk-issue/", api.CouponBulkIssueApi.as_view(),
         name="api-coupon-template-bulk-issue"),
    path("coupons/", api.CouponListApi.as_view(), name="api-coupons"),
    path("coupons/<str:code>/", api.CouponDetailApi.as_view(), name="api-coupon"),
    path("coupons/<str:code>/void/", api.CouponVoidApi.as_view(), name="api-coupon-void"),
]
