from django.urls import path

from messaging import api

urlpatterns = [
    path("settings/", api.MessagingSettingsApi.as_view(), name="api-messaging-settings"),
    path("templates/", api.MessageTemplateListApi.as_view(), name="api-message-templates"),
    path("templates/<int:pk>/", api.MessageTemplateDetailApi.as_view(), name="api-message-template"),
    path("templates/<int:pk>/restore-default/", api.MessageTemplateRestoreApi.as_view(),
         name="api-message-template-restore"),
    path("templates/<int:pk>/preview/", api.MessageTemplatePreviewApi.as_view(), name="api-message-template-preview"),
    path("messages/", api.MessageListApi.as_view(), name="api-messages"),
    path("messages/<int:pk>/", api.MessageDetailApi.as_view(), name="api-message"),
]
