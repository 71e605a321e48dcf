from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _

from accounts.client_address import trusted_proxies_validate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Staff accounts")

    def ready(self):
        checks.register(trusted_proxies_check)


def trusted_proxies_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A TRUSTED_PROXIES entry that is no address or network would fail every sign-in."""
    try:
        trusted_proxies_validate(settings.TRUSTED_PROXIES)
    except ValueError as exc:
        return [checks.Error(f"TRUSTED_PROXIES: {exc}", id="accounts.E001")]
    if settings.TRUSTED_PROXY_COUNT < 0:
        return [checks.Error("TRUSTED_PROXY_COUNT must be 0 or more.", id="accounts.E002")]
    return []
