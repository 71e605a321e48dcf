from django.urls import path

from visits import api

urlpatterns = [
    path("categories/", api.CategoryListApi.as_view(), name="api-categories"),
    path("items/", api.ItemListApi.as_view(), name="api-items"),
    path("items/<int:pk>/", api.ItemDetailApi.as_view(), name="api-item"),
]
