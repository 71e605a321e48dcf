"""Treatment packages at the desk in a real Chromium: the front desk sells a package at checkout,
then covers a treatment with one of its sessions, on a phone (390 px) and on a desk, in Chinese
and in English. Each run saves screenshots in test-artifacts/."""

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from members.services import member_register
from packages.models import PackageProduct
from packages.services import package_product_create
from points.models import Account
from tests.browser.test_portal_surveys_browser import in_clinic
from tiers.models import Tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
RUNS = [("zh-hans", 390), ("zh-hans", 1280), ("en", 390), ("en", 1280)]


@dataclass(frozen=True)
class PackageData:
    product: PackageProduct
    treatment: CatalogueItem
    members: dict[tuple[str, int], int]


@pytest.fixture(scope="module")
def package_data(browser_clinic, django_db_blocker) -> PackageData:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        Tier.objects.update(discount_percent=0)
        laser = category_create(name="光电项目", code="pkg-laser")
        ipl = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="PKG-IPL-T", category=laser,
                                    price=Decimal("800.00"), duration_minutes=45)
        product = package_product_create(name="光子嫩肤3次卡", sku="PKG-IPL3", category=laser, price=Decimal("1000.00"),
                                         sessions=3, treatments=[ipl])
        members = {run: member_register(name=f"疗程会员{n}", phone=f"1391111{n:04d}", actor=None).pk
                   for n, run in enumerate(RUNS, start=20)}
    return PackageData(product=product, treatment=ipl, members=members)


def log_in(page: Page, live_site, browser_clinic, path: str, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language,
                               "url": live_site.url(browser_clinic.host, "/")}])
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, path))


@pytest.mark.parametrize(("language", "width"), RUNS)
def test_the_desk_sells_a_package_then_uses_a_session(browser_clinic, package_data, live_site, artifacts_dir,
                                                      language, width, page: Page):
    member_id = package_data.members[(language, width)]
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    checkout = f"/members/{member_id}/checkout/"
    log_in(page, live_site, browser_clinic, checkout, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#id_lines-0-package")).to_have_count(0)

    page.select_option("#id_lines-0-item", str(package_data.product.item_id))
    page.select_option("#id_payments-0-method", "wechat_pay")
    expect(page.locator("#quote-total")).to_have_text("¥1000.00")
    page.click("#checkout-submit")
    expect(page).to_have_url(re.compile(r"/visits/\d+/receipt/"))
    bought = "购买3次" if language == "zh-hans" else "3 sessions bought"
    expect(page.locator("dd.package-note")).to_contain_text(bought)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"the receipt scrolls sideways at {width} px"

    page.goto(live_site.url(browser_clinic.host, checkout))
    page.select_option("#id_lines-0-item", str(package_data.treatment.pk))
    left = "光子嫩肤3次卡（剩3次）" if language == "zh-hans" else "光子嫩肤3次卡 (3 left)"
    expect(page.locator("#id_lines-0-package option").nth(1)).to_have_text(left)
    page.select_option("#id_lines-0-package", str(package_data.product.pk))
    expect(page.locator("#quote-total")).to_have_text("¥0.00")
    page.screenshot(path=artifacts_dir / f"packages-checkout-use-{width}-{language}.png", full_page=True)
    page.click("#checkout-submit")
    expect(page).to_have_url(re.compile(r"/visits/\d+/receipt/"))
    used = "剩余2次" if language == "zh-hans" else "2 left"
    expect(page.locator("dd.package-note")).to_contain_text(used)
    page.screenshot(path=artifacts_dir / f"packages-receipt-use-{width}-{language}.png", full_page=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"the receipt scrolls sideways at {width} px"

    page.goto(live_site.url(browser_clinic.host, f"/members/{member_id}/"))
    expect(page.locator("#member-packages .package-left")).to_have_text("2 / 3")
    page.screenshot(path=artifacts_dir / f"packages-member-{width}-{language}.png", full_page=True)

    def balance() -> int:
        return Account.objects.get(member_id=member_id, asset=f"package:{package_data.product.pk}").balance

    assert in_clinic(browser_clinic.clinic, balance) == 2


TRANSFER_RUNS = [("zh-hans", 390), ("en", 1280)]


@pytest.fixture(scope="module")
def transfer_data(browser_clinic, package_data, django_db_blocker) -> dict:
    """A transferable package sold to one member per run, and a friend to give it to."""
    from checkout.services import LineInput, PaymentInput, checkout_complete

    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        laser = package_data.treatment.category
        product = package_product_create(name="光子嫩肤可转让卡", sku="PKG-IPL3-T", category=laser,
                                         price=Decimal("900.00"), sessions=3, treatments=[package_data.treatment],
                                         transferable=True)
        runs = {}
        for n, run in enumerate(TRANSFER_RUNS, start=40):
            holder = member_register(name=f"转让会员{n}", phone=f"1392222{n:04d}", actor=None)
            friend = member_register(name=f"受让会员{n}", phone=f"1393333{n:04d}", actor=None)
            checkout_complete(member=holder, actor=browser_clinic.front_desk,
                              lines=[LineInput(item_id=product.item_id)],
                              payments=[PaymentInput(method="cash", amount=Decimal("900.00"))])
            runs[run] = (holder.pk, friend.pk, friend.phone)
    return {"product": product.pk, "runs": runs}


@pytest.mark.parametrize(("language", "width"), TRANSFER_RUNS)
def test_the_desk_transfers_a_package_to_another_member(browser_clinic, transfer_data, live_site, artifacts_dir,
                                                         language, width, page: Page):
    holder, friend, phone = transfer_data["runs"][(language, width)]
    page.set_default_timeout(45_000)  # a loaded machine
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    log_in(page, live_site, browser_clinic, f"/members/{holder}/", language)
    page.click("#member-packages .package-transfer-link")
    expect(page).to_have_url(re.compile(r"/packages/\d+/transfer/$"))
    page.fill("#transfer-search", phone)
    page.press("#transfer-search", "Enter")
    page.click("#transfer-candidates .transfer-choose")
    expect(page.locator("#transfer-summary")).to_contain_text("受让会员")
    page.fill("#id_reason", "送给朋友" if language == "zh-hans" else "A gift to a friend")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"the transfer page scrolls sideways at {width} px"
    page.screenshot(path=artifacts_dir / f"packages-transfer-{width}-{language}.png", full_page=True)
    page.click("#package-transfer-submit")
    expect(page).to_have_url(live_site.url(browser_clinic.host, f"/members/{holder}/"))
    expect(page.locator("#member-packages .package-transfer-link")).to_have_count(0)

    page.goto(live_site.url(browser_clinic.host, f"/members/{friend}/"))
    expect(page.locator("#member-packages .package-left")).to_have_text("3 / 3")

    def balances() -> tuple[int, int]:
        asset = f"package:{transfer_data['product']}"
        found = dict(Account.objects.filter(member_id__in=(holder, friend), asset=asset)
                     .values_list("member_id", "balance"))
        return found.get(holder, 0), found.get(friend, 0)

    assert in_clinic(browser_clinic.clinic, balances) == (0, 3)
