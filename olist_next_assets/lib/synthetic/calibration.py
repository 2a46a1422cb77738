"""Published facts about the full Olist release that the generator reproduces (scaled).

Counts are from the real release (CALIBRATION.md and public exploratory analyses); the generator
uses them as weights, so every figure here is a target, not a copy of any row.
"""

from __future__ import annotations

import numpy as np

REFERENCE_CUSTOMERS = 96_096  # customer_unique_id in the release; all other counts scale with it
REFERENCE_ROWS: dict[str, int] = {
    "customers": 99_441,
    "geolocation": 1_000_163,
    "order_items": 112_650,
    "order_payments": 103_886,
    "order_reviews": 99_224,
    "orders": 99_441,
    "products": 32_951,
    "sellers": 3_095,
    "product_category_name_translation": 71,
}
NULL_CATEGORY_PRODUCTS = 610
NULL_DIMENSION_PRODUCTS = 2
GEOLOCATION_PREFIXES = 19_015


def epoch(stamp: str) -> int:
    """Seconds since 1970 for an ISO timestamp: the generator's internal time unit."""
    return int(np.datetime64(stamp, "s").astype(np.int64))


FIRST_PURCHASE = epoch("2016-09-04T21:15:19")
LAST_PURCHASE = epoch("2018-10-17T17:30:18")
# The release holds almost no orders after August 2018 (an extraction artefact: 16 in September,
# 4 in October, nearly all canceled). Repeat purchases are therefore only written before this
# cut; the September/October stragglers are first orders, canceled, as in the release.
REPEAT_CUTOFF = epoch("2018-09-01T00:00:00")
EXTRACTION_END = epoch("2018-10-17T17:30:18")  # nothing (delivery, carrier) is dated after this
DAY = 86_400

MONTHLY_ORDERS: dict[str, int] = {
    "2016-09": 4, "2016-10": 324, "2016-11": 0, "2016-12": 1,
    "2017-01": 800, "2017-02": 1780, "2017-03": 2682, "2017-04": 2404, "2017-05": 3700, "2017-06": 3245,
    "2017-07": 4026, "2017-08": 4331, "2017-09": 4285, "2017-10": 4631, "2017-11": 7544, "2017-12": 5673,
    "2018-01": 7269, "2018-02": 6728, "2018-03": 7211, "2018-04": 6939, "2018-05": 6873, "2018-06": 6167,
    "2018-07": 6292, "2018-08": 6512, "2018-09": 16, "2018-10": 4,
}
BLACK_FRIDAY = "2017-11-24"
BLACK_FRIDAY_SHARE = 0.15  # of November 2017's orders fall on that day
# Orders by hour of day (00..23) and weekday (Mon..Sun) in the release.
HOUR_WEIGHTS = np.array([
    2394, 1170, 510, 272, 206, 188, 502, 1231, 2967, 4785, 6177, 6578,
    5995, 6518, 6569, 6454, 6675, 6150, 5769, 5982, 6193, 6217, 5816, 4123,
], dtype=np.float64)
WEEKDAY_WEIGHTS = np.array([16196, 15963, 15552, 14761, 14122, 10887, 11960], dtype=np.float64)

STATUSES = ("delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created", "approved")
# Without the 20 September/October stragglers, which are generated as canceled.
STATUS_COUNTS = np.array([96478, 1107, 605, 609, 314, 301, 5, 2], dtype=np.float64)

# Items per order (orders that have items): 98,666 orders, 112,650 items in the release.
ITEMS_PER_ORDER: dict[int, int] = {
    1: 88863, 2: 7516, 3: 1322, 4: 505, 5: 204, 6: 198, 7: 22, 8: 8, 9: 3, 10: 8,
    11: 4, 12: 5, 13: 1, 14: 2, 15: 2, 20: 2, 21: 1,
}
CANCELED_WITHOUT_ITEMS = 0.26

# Credit-card installments (rows), 1..24.
CARD_INSTALLMENTS: dict[int, int] = {
    1: 25455, 2: 12413, 3: 10461, 4: 7098, 5: 5239, 6: 3920, 7: 1626, 8: 4268, 9: 644, 10: 5328,
    11: 23, 12: 133, 13: 16, 14: 15, 15: 74, 16: 5, 17: 8, 18: 27, 20: 17, 21: 3, 22: 1, 23: 1, 24: 18,
}
# How an order is paid (orders): single rows by type, and the three multi-row patterns.
PAYMENT_MODES: dict[str, int] = {
    "credit_card": 73972, "boleto": 19784, "debit_card": 1526, "voucher": 1194, "not_defined": 3,
    "credit_card+vouchers": 2245, "vouchers": 427, "credit_card+credit_card": 287,
}

# Review score distributions by delivery outcome, solved so that the mix reproduces the release
# (5: 57.8%, 4: 19.3%, 3: 8.2%, 2: 3.2%, 1: 11.5%; mean 4.29 on time, 2.57 late).
SCORE_PMF_ON_TIME = np.array([0.0667, 0.0255, 0.0809, 0.2045, 0.6224])
SCORE_PMF_LATE = np.array([0.46, 0.09, 0.10, 0.11, 0.24])
SCORE_PMF_UNDELIVERED = np.array([0.68, 0.07, 0.08, 0.06, 0.11])
# P(comment) and P(title) by score 1..5: unhappy customers write more.
MESSAGE_RATE = np.array([0.76, 0.74, 0.42, 0.33, 0.35])
TITLE_RATE = np.array([0.175, 0.165, 0.097, 0.086, 0.116])
ORDERS_WITHOUT_REVIEW = 768 / 99_441
ORDERS_WITH_SECOND_REVIEW = 551 / 98_673
