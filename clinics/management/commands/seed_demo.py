from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from clinics.context import clinic_url, platform_url
from clinics.platform.demo import (
    DEMO_MEMBERS,
    DEMO_PASSWORD,
    DEMO_STAFF,
    OPERATOR_USERNAME,
    demo_portal_member,
    demo_seed,
)
from members.naming import phone_display


class Command(BaseCommand):
    help = ("Create the demo data for trying the product locally: a platform operator, the demo "
            "clinic, one staff account per role, a catalogue and a few hundred members with their "
            "visit history. Safe to run again; keeps existing data.")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=DEMO_MEMBERS,
                            help="How many members to invent when the clinic has none yet.")

    def handle(self, *args, **options):
        clinic, created = demo_seed(members=options["members"])
        if created:
            self.stdout.write(self.style.SUCCESS(_("Created the demo clinic.")))
        else:
            self.stdout.write(self.style.SUCCESS(_("The demo clinic exists; its data is kept.")))
        self.stdout.write(_("Every demo account has the password %(password)s (accounts that "
                            "existed before keep theirs).") % {"password": DEMO_PASSWORD})
        self.stdout.write("")
        self.stdout.write(_("Platform console: %(url)s") % {"url": platform_url()})
        operator = _("platform operator")
        self.stdout.write(f"    {OPERATOR_USERNAME:<14}{operator}")
        self.stdout.write(_("%(clinic)s: %(url)s") % {"clinic": clinic.name, "url": clinic_url(clinic)})
        for staff in DEMO_STAFF:
            self.stdout.write(f"    {staff.username:<14}{staff.role.label}, {staff.full_name}")
        member = demo_portal_member(clinic)
        if member is not None:
            self.stdout.write(_("Member portal: %(url)s (e.g. %(name)s, %(phone)s; the sign-in code is in "
                                "Settings › Message log and in the worker's output)")
                              % {"url": clinic_url(clinic, "/m/"), "name": member.name,
                                 "phone": phone_display(member.phone)})
        self.stdout.write("")
