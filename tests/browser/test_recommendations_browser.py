"""Suggestions in a real Chromium, on a phone (390×844) and a desktop: the member page suggests
an item with its reason, one click puts it on the bill, and at checkout a second suggestion goes
on the next line with one click, the totals following."""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from checkout.services import LineInput, PaymentInput, checkout_complete
from members.models import Member
from members.services import member_register
from points.models import LoyaltySettings
from recommendations.models import ItemAssociation
from tiers.models import Tier
from visits.models import CatalogueItem
from visits.services import catalogue_item_create, category_create

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Shop:
    aftercare: CatalogueItem
    serum: CatalogueItem
    members: dict[int, Member]


@pytest.fixture(scope="module")
def shop(browser_clinic, django_db_blocker) -> Shop:
    with django_db_blocker.unblock(), tenant_context(browser_clinic.clinic):
        LoyaltySettings.objects.filter(pk=1).update(signup_bonus=0, first_visit_bonus=0)
        Tier.objects.update(discount_percent=0)
        laser_category = category_create(name="光电项目", code="recs-laser")
        products = category_create(name="护肤产品", code="recs-products")
        laser = catalogue_item_create(kind="treatment", name="光子嫩肤", sku="RECS-LSR", category=laser_category,
                                      price=Decimal("1280.00"), duration_minutes=40)
        aftercare = catalogue_item_create(kind="product", name="医用修护面膜", sku="RECS-AFT", category=products,
                                          price=Decimal("268.00"))
        serum = catalogue_item_create(kind="product", name="玻尿酸精华液", sku="RECS-SER", category=products,
                                      price=Decimal("458.00"))
        for related, confidence in ((aftercare, 0.6), (serum, 0.4)):
            ItemAssociation.objects.create(item=laser, related=related, pair_members=30, item_members=50,
                                           related_members=60, confidence=confidence, lift=2.0)
        members = {}
        for n, width in enumerate((390, 1280)):
            member = member_register(name=f"吴雅{n + 1}", phone=f"1391222000{n}", actor=None, gender="female")
            checkout_complete(member=member, actor=None, lines=[LineInput(item_id=laser.pk)],
                              payments=[PaymentInput(method="cash", amount=laser.price)],
                              at=timezone.now() - timedelta(days=2))
            members[width] = member
    return Shop(aftercare=aftercare, serum=serum, members=members)


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_a_suggested_item_goes_on_the_bill_in_one_click(browser_clinic, shop, live_site, artifacts_dir, page,
                                                         width, height):
    member = shop.members[width]
    page.set_viewport_size({"width": width, "height": height})
    path = f"/members/{member.pk}/"
    page.goto(live_site.url(browser_clinic.host, path))
    page.fill("#id_username", browser_clinic.front_desk.username)
    page.fill("#id_password", browser_clinic.password)
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(live_site.url(browser_clinic.host, path))

    suggestion = page.locator(f"#member-suggestions [data-item='{shop.aftercare.pk}']")
    expect(suggestion).to_contain_text("医用修护面膜")
    expect(suggestion.locator(".suggestion-reason")).to_contain_text("光子嫩肤")
    page.screenshot(path=artifacts_dir / f"recommendations-member-{width}.png", full_page=True)
    suggestion.locator("[data-add-item]").click()

    expect(page).to_have_url(re.compile(rf"/members/{member.pk}/checkout/\?add={shop.aftercare.pk}$"))
    expect(page.locator("#id_lines-0-item")).to_have_value(str(shop.aftercare.pk))
    expect(page.locator("#quote-total")).to_have_text("¥268.00")
    page.locator(f"#member-suggestions [data-item='{shop.serum.pk}'] [data-add-item]").click()
    expect(page.locator("#id_lines-1-item")).to_have_value(str(shop.serum.pk))
    expect(page.locator("#quote-total")).to_have_text("¥726.00")
    page.screenshot(path=artifacts_dir / f"recommendations-checkout-{width}.png", full_page=True)
    page.select_option("#id_payments-0-method", "wechat_pay")
    page.click("#checkout-submit")

    expect(page).to_have_url(re.compile(r"/visits/\d+/receipt/"))
    expect(page.locator("main")).to_contain_text("医用修护面膜")
    expect(page.locator("main")).to_contain_text("玻尿酸精华液")
