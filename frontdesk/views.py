from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.views.generic import TemplateView


class HomeView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The front desk's start page."""

    permission_required = "accounts.use_frontdesk"
    template_name = "frontdesk/home.html"
