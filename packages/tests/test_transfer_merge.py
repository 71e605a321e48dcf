"""A transferable package given to another member, and packages following a member merge."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinics.context import clinic_zone
from members.services import member_merge, member_register
from packages.models import PackagePurchase
from packages.selectors import outstanding_sessions
from packages.services import package_product_update
from packages.tests.test_sell_use import account, sell, use
from points.selectors import ledger_verify

D = Decimal


def test_a_transferable_package_moves_with_its_sessions_and_expiry(staff_client, member, ipl_package, catalogue,
                                                                 front_desk, manager):
    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    friend = member_register(name="王丽", phone="13812340000", actor=front_desk)
    purchase = PackagePurchase.objects.get()
    expires = purchase.lot.expires_at
    url = f"/api/v1/packages/purchases/{purchase.pk}/transfer/"
    client = staff_client(front_desk)
    refused = client.post(url, {"to_member": friend.pk, "reason": "gift"}, content_type="application/json")
    assert refused.status_code == 400 and "不能转让" in str(refused.json())  # the clinic's language
    assert account(member, ipl_package).balance == 2
    package_product_update(product=ipl_package, actor=manager, transferable=True)
    moved = client.post(url, {"to_member": friend.pk, "reason": "gift"}, content_type="application/json",
                        headers={"Idempotency-Key": "t-1"})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["left"] == 2 and moved.json()["value_left"] == "666.67"
    assert account(member, ipl_package).balance == 0 and account(friend, ipl_package).balance == 2
    purchase.refresh_from_db()
    assert purchase.member == friend and purchase.lot.expires_at == expires
    assert outstanding_sessions().value == D("666.67")
    use(friend, ipl_package, catalogue["ipl"], front_desk)
    assert outstanding_sessions().value == D("333.34")
    assert ledger_verify() == []


def test_a_merge_moves_the_duplicates_packages_to_the_survivor(member, ipl_package, catalogue, front_desk, manager):
    duplicate = member_register(name="张小美", phone="13812349999", actor=front_desk)
    sell(duplicate, ipl_package, front_desk)
    use(duplicate, ipl_package, catalogue["ipl"], front_desk)
    member_merge(survivor=member, duplicate=duplicate, actor=manager)
    purchase = PackagePurchase.objects.get()
    assert purchase.member == member and purchase.lot.remaining == 2
    assert account(member, ipl_package).balance == 2 and account(duplicate, ipl_package).balance == 0
    assert outstanding_sessions().value == D("666.67")
    use(member, ipl_package, catalogue["ipl"], front_desk)
    with pytest.raises(ValidationError):
        use(duplicate, ipl_package, catalogue["ipl"], front_desk)
    assert ledger_verify() == []


def test_the_desk_transfers_a_package_from_the_member_page_with_a_reason(staff_client, member, ipl_package,
                                                                         catalogue, front_desk, manager):
    from idempotency.forms import idempotency_key_new

    sell(member, ipl_package, front_desk)
    use(member, ipl_package, catalogue["ipl"], front_desk)
    friend = member_register(name="王丽", phone="13812340000", actor=front_desk)
    purchase = PackagePurchase.objects.get()
    expires = purchase.lot.expires_at
    client = staff_client(front_desk)
    url = f"/packages/{purchase.pk}/transfer/"

    # not transferable: no link on the member page, the page says why, a post changes nothing
    assert url not in client.get(f"/members/{member.pk}/").content.decode()
    page = client.get(url).content.decode()
    assert 'id="transfer-problem"' in page and 'id="transfer-search"' not in page
    # the last usable day (the day before the instant it expires, in the clinic's time zone), as
    # every page names a day in the clinic's language
    last = (timezone.localtime(expires, clinic_zone()) - timedelta(days=1)).date()
    assert f"{last.year}年{last.month}月{last.day}日 周{'一二三四五六日'[last.weekday()]}" in page
    refused = client.post(url, {"to_member": friend.pk, "reason": "送给朋友", "idempotency_key": idempotency_key_new()})
    assert refused.status_code == 400
    assert account(member, ipl_package).balance == 2 and PackagePurchase.objects.get().member == member

    package_product_update(product=ipl_package, actor=manager, transferable=True)
    assert url in client.get(f"/members/{member.pk}/").content.decode()
    found = client.get(url, {"q": "13812340000"}).content.decode()
    assert f'href="?to={friend.pk}"' in found and f'href="?to={member.pk}"' not in found
    confirm = client.get(url, {"to": friend.pk}).content.decode()
    assert 'id="transfer-summary"' in confirm and "王丽" in confirm and friend.member_number in confirm

    # the reason is needed; without it nothing moves
    key = idempotency_key_new()
    missing = client.post(url, {"to_member": friend.pk, "reason": "", "idempotency_key": key})
    assert missing.status_code == 400 and 'id="id_reason-error"' in missing.content.decode()
    assert account(member, ipl_package).balance == 2

    done = client.post(url, {"to_member": friend.pk, "reason": "送给朋友", "idempotency_key": key})
    assert done.status_code == 302 and done["Location"] == f"/members/{member.pk}/"
    again = client.post(url, {"to_member": friend.pk, "reason": "送给朋友", "idempotency_key": key})
    assert again.status_code == 302
    assert account(member, ipl_package).balance == 0 and account(friend, ipl_package).balance == 2
    purchase.refresh_from_db()
    assert purchase.member == friend and purchase.lot.expires_at == expires
    friend_page = client.get(f"/members/{friend.pk}/").content.decode()
    assert f'data-purchase="{purchase.pk}"' in friend_page and "2 / 3" in friend_page
    assert ledger_verify() == []
