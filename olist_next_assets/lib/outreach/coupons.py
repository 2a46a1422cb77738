"""Coupon codes: unique per customer and campaign, derived with a keyed hash, verifiable.

``OLIST-`` + 10 base32 characters of HMAC-SHA256(secret, "campaign:customer"). Without the
secret nobody can mint a valid code; with it, support can verify one without a lookup table.
The secret comes from ``OLIST_COUPON_SECRET`` (required in prod; a fixed dev default otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

PREFIX = "OLIST-"
CODE_PATTERN = re.compile(r"\bOLIST-[A-Z2-7]{10}\b")
DEV_SECRET = "olist-next-dev-coupon-secret"


def coupon_secret() -> str:
    secret = os.environ.get("OLIST_COUPON_SECRET")
    if secret:
        return secret
    if os.environ.get("OLIST_ENV", "dev") == "prod":
        raise RuntimeError("OLIST_ENV=prod needs OLIST_COUPON_SECRET; the dev default is never used in prod.")
    return DEV_SECRET


def coupon_code(customer: str, campaign: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{campaign}:{customer}".encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode()[:10]


def verify(code: str, customer: str, campaign: str, secret: str) -> bool:
    return hmac.compare_digest(code, coupon_code(customer, campaign, secret))
