from django.urls import path

from packages import api

urlpatterns = [
    path("products/", api.ProductListApi.as_view(), name="api-package-products"),
    path("products/<int:pk>/", api.ProductDetailApi.as_view(), name="api-package-product"),
    path("members/<int:pk>/", api.MemberPackagesApi.as_view(), name="api-member-packages"),
    path("purchases/<int:pk>/refund-quote/", api.RefundQuoteApi.as_view(), name="api-package-refund-quote"),
    path("purchases/<int:pk>/refunds/", api.PurchaseRefundApi.as_view(), name="api-package-refund"),
    path("purchases/<int:pk>/transfer/", api.PurchaseTransferApi.as_view(), name="api-package-transfer"),
    path("figures/", api.FiguresApi.as_view(), name="api-packages-figures"),
    path("outstanding/", api.OutstandingApi.as_view(), name="api-packages-outstanding"),
    path("settings/", api.PackageSettingsApi.as_view(), name="api-package-settings"),
]
