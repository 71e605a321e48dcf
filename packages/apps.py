from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PackagesConfig(AppConfig):
    name = "packages"
    verbose_name = _("Treatment packages")

    def ready(self):
        from checkout import services as checkout_services
        from members import services as member_services
        from packages.checkout_steps import package_lines_record, package_lines_refund
        from packages.liability import packages_section
        from packages.member_steps import packages_merge
        from storedvalue import selectors as storedvalue_selectors

        checkout_services.CHECKOUT_STEPS.append(package_lines_record)
        checkout_services.REFUND_STEPS.append(package_lines_refund)
        member_services.MERGE_STEPS.append(packages_merge)
        storedvalue_selectors.LIABILITY_SECTIONS.append(packages_section)
