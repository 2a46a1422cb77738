"""Checks on the weekly campaign: targets, e-mails and holdout."""

from __future__ import annotations

import dagster as dg
import polars as pl

ONE_ROW_PER_TARGET = "one_row_per_target"
GUARDRAILS_ENFORCED = "no_unflagged_guardrail_failure"
CODES_UNIQUE = "coupon_codes_unique"
HOLDOUT_SHARE = "holdout_share_within_tolerance"
NO_EMAIL_FOR_HOLDOUT = "no_email_for_holdout"


def _weeks(frame: pl.DataFrame) -> str:
    weeks = frame["week"].unique().sort().to_list() if "week" in frame.columns else []
    return ", ".join(map(str, weeks[:5])) + (" ..." if len(weeks) > 5 else "")


def one_row_per_target(emails: pl.DataFrame, targets: pl.DataFrame) -> dg.AssetCheckResult:
    keys = ["week", "customer_unique_id"]
    missing = targets.join(emails, on=keys, how="anti")
    extra = emails.join(targets, on=keys, how="anti")
    duplicated = emails.filter(pl.struct(keys).is_duplicated())
    passed = missing.is_empty() and extra.is_empty() and duplicated.is_empty()
    return dg.AssetCheckResult(
        check_name=ONE_ROW_PER_TARGET, passed=passed,
        description=None if passed else f"{missing.height} targets without a row, {extra.height} rows without a "
                                        f"target, {duplicated.height} duplicated rows (weeks {_weeks(missing)}).",
        metadata={"targets": targets.height, "rows": emails.height, "missing": missing.height,
                  "extra": extra.height, "duplicated": duplicated.height},
    )


def guardrails_enforced(emails: pl.DataFrame) -> dg.AssetCheckResult:
    """Every stored e-mail passed the guardrails, unless it is flagged for review."""
    unflagged = emails.filter(pl.col("body").is_not_null() & ~pl.col("guardrail_passed") & ~pl.col("needs_review"))
    error_as_email = emails.filter(pl.col("status").eq("failed") & pl.col("body").is_not_null())
    passed = unflagged.is_empty() and error_as_email.is_empty()
    return dg.AssetCheckResult(
        check_name=GUARDRAILS_ENFORCED, passed=passed,
        description=None if passed else f"{unflagged.height} e-mails fail the guardrails without a review flag; "
                                        f"{error_as_email.height} failed rows carry a body.",
        metadata={"needs_review": int(emails["needs_review"].sum()),
                  "by_status": dg.MetadataValue.json(dict(emails.group_by("status").len().iter_rows()))},
    )


def codes_unique(emails: pl.DataFrame) -> dg.AssetCheckResult:
    codes = emails.drop_nulls("coupon_code")
    duplicated = codes.filter(pl.col("coupon_code").is_duplicated())
    return dg.AssetCheckResult(
        check_name=CODES_UNIQUE, passed=duplicated.is_empty(),
        description=None if duplicated.is_empty() else f"{duplicated.height} rows share a coupon code.",
        metadata={"codes": codes.height},
    )


def holdout_share(targets: pl.DataFrame, expected: float, tolerance: float = 0.05) -> dg.AssetCheckResult:
    weekly = targets.group_by("week").agg(pl.len().alias("n"), (pl.col("group") == "holdout").mean().alias("share"))
    big = weekly.filter(pl.col("n") >= 200)  # a share is only meaningful on enough targets
    off = big.filter((pl.col("share") - expected).abs() > tolerance)
    return dg.AssetCheckResult(
        check_name=HOLDOUT_SHARE, passed=off.is_empty(), severity=dg.AssetCheckSeverity.WARN,
        description=None if off.is_empty() else f"Holdout share off by more than {tolerance:.0%} in weeks {_weeks(off)}.",
        metadata={"expected": expected, "overall": float((targets["group"] == "holdout").mean() or 0.0),
                  "weeks_checked": big.height},
    )


def no_email_for_holdout(emails: pl.DataFrame) -> dg.AssetCheckResult:
    leaked = emails.filter((pl.col("group") == "holdout") & (pl.col("body").is_not_null() | (pl.col("status") != "holdout")))
    return dg.AssetCheckResult(
        check_name=NO_EMAIL_FOR_HOLDOUT, passed=leaked.is_empty(),
        description=None if leaked.is_empty() else f"{leaked.height} holdout customers have an e-mail.",
        metadata={"holdout_rows": emails.filter(pl.col("group") == "holdout").height},
    )
