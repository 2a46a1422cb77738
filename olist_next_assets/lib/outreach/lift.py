"""Measured lift (e-mailed vs holdout return rates) and the ROI estimate, in BRL."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959964


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def difference_ci(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (sound at the small rates of retention)."""
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan)
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson(s1, n1, z)
    l2, u2 = wilson(s2, n2, z)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


@dataclass(frozen=True)
class RoiAssumptions:
    conversion_with_email: float = 0.05
    conversion_without_email: float = 0.03
    average_order_value_brl: float = 160.0
    cost_per_email_brl: float = 0.02
    discount_percent: float = 10.0


def roi(emails: int, a: RoiAssumptions) -> dict[str, float]:
    """Expected incremental profit of e-mailing ``emails`` customers under the assumptions.

    Incremental orders pay the order value minus the discount; customers who would have bought
    anyway now use the coupon too, which costs the discount on their orders.
    """
    incremental_orders = emails * (a.conversion_with_email - a.conversion_without_email)
    discount = a.discount_percent / 100
    revenue = incremental_orders * a.average_order_value_brl * (1 - discount)
    cannibalised = emails * a.conversion_without_email * a.average_order_value_brl * discount
    cost = emails * a.cost_per_email_brl + cannibalised
    return {"incremental_orders": incremental_orders, "incremental_revenue_brl": revenue, "cost_brl": cost,
            "net_brl": revenue - cost, "roi": (revenue - cost) / cost if cost else math.nan}


def brl(value: float) -> str:
    """R$ 12.345,67 (Brazilian format)."""
    if value is None or math.isnan(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    return f"{sign}R$ {whole.replace(',', '.')},{cents}"
