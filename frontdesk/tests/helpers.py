"""Building the POST bodies the front-desk forms send."""

from idempotency.forms import idempotency_key_new


def checkout_post(lines: list[tuple[int, int]], payments: list[tuple[str, str]] = (), *, coupon_code: str = "",
                  points_to_use: int = 0, key: str | None = None) -> dict:
    data = {"idempotency_key": key or idempotency_key_new(), "coupon_code": coupon_code,
            "points_to_use": str(points_to_use),
            "lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0",
            "payments-TOTAL_FORMS": "3", "payments-INITIAL_FORMS": "0"}
    for n, (item_id, quantity) in enumerate(lines):
        data[f"lines-{n}-item"] = str(item_id)
        data[f"lines-{n}-quantity"] = str(quantity)
    for n, (method, amount) in enumerate(payments):
        data[f"payments-{n}-method"] = method
        data[f"payments-{n}-amount"] = amount
    return data
