"""The client's address: the connection's own unless it comes from a trusted proxy."""

from django.test import RequestFactory

from accounts.client_address import client_address


def address_of(remote: str, forwarded_for: str | None = None) -> str:
    meta = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_address(RequestFactory().get("/", **meta))


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES, settings.TRUSTED_PROXY_COUNT = [], 0

    assert address_of("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_a_trusted_proxy_reports_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert address_of("10.0.0.2", "forged, 198.51.100.1") == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.9"]

    assert address_of("10.0.0.2", "6.6.6.6, 198.51.100.1, 192.0.2.9") == "198.51.100.1"


def test_a_client_that_is_not_a_trusted_proxy_keeps_its_own_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert address_of("203.0.113.5", "198.51.100.1, 10.0.0.3") == "203.0.113.5"


def test_a_garbled_hop_stops_the_walk_at_the_proxy_that_reported_it(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert address_of("10.0.0.2", "not-an-address") == "10.0.0.2"


def test_a_proxy_count_takes_that_many_hops_from_the_right(settings):
    settings.TRUSTED_PROXIES, settings.TRUSTED_PROXY_COUNT = [], 2

    assert address_of("10.0.0.2", "forged, 198.51.100.1, 10.1.1.1") == "198.51.100.1"
    assert address_of("10.0.0.2", "198.51.100.1") == "198.51.100.1"


def test_ipv4_mapped_and_ipv6_addresses_are_read(settings):
    settings.TRUSTED_PROXIES = ["::1"]

    assert address_of("::ffff:203.0.113.5") == "203.0.113.5"
    assert address_of("::1", "2001:db8::7") == "2001:db8::7"
