"""Every portal page a member opens is checked in the phone-sized browser tests for sideways
scrolling: a page added to portal/urls.py without being added there fails here."""

import re
from pathlib import Path

from django.urls import URLPattern

from portal.urls import urlpatterns

BROWSER_TESTS = Path(__file__).resolve().parents[2] / "tests" / "browser"
# Addresses that are not pages: POST-only actions, files and the PWA's manifest and worker.
NOT_PAGES = {"signout", "profile_language", "profile_export", "profile_erasure", "appointment_cancel",
             "appointment_ics", "manifest", "service_worker"}


def _portal_tests_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(BROWSER_TESTS.glob("test_portal*.py")))


def test_every_portal_page_is_opened_by_a_browser_test_at_a_phone_width():
    text = _portal_tests_text()
    assert "assert_no_sideways_scroll" in text and "390, 844" in text
    missing = []
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in NOT_PAGES:
            continue
        route = "/m/" + str(pattern.pattern)
        regex = re.escape(route).replace(re.escape("<int:pk>"), r"(\{\w+\}|\d+)")
        if not re.search(rf"[\"']{regex}(\?[^\"']*)?[\"'/]", text):
            missing.append(route)
    assert missing == []
