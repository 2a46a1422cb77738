"""Outreach: weekly campaign targets with a holdout, the retention e-mails, and measured lift.

Thin assets over :mod:`olist_next_assets.lib.outreach`. litellm is imported inside the e-mail
asset only (it takes seconds to import).
"""

import datetime as dt
import json
import os

import dagster as dg
import polars as pl

from olist_next_assets.defs.common import delta_asset, output_metadata, upstream, week_dates
from olist_next_assets.defs.outreach import checks
from olist_next_assets.defs.resources import CouponSigner, LakeResource, LLMResource
from olist_next_assets.lib.contracts import TIMESTAMP, WEEK_COLUMN
from olist_next_assets.lib.outreach import lift as lift_lib
from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds, ToneRules
from olist_next_assets.lib.outreach.targeting import EMAIL, HOLDOUT, TARGET_SCHEMA, TargetingConfig, select_targets
from olist_next_assets.lib.snapshots import CUSTOMER, WEEK, cutoff_of

CAMPAIGN_TARGETS = dg.AssetKey(["outreach", "campaign_targets"])
RETENTION_EMAILS = dg.AssetKey(["outreach", "retention_emails"])
CAMPAIGN_LIFT = dg.AssetKey(["outreach", "campaign_lift"])


class CampaignConfig(dg.Config):
    budget: int = int(os.environ.get("OLIST_EMAIL_BUDGET", "1000"))
    """E-mails per week (the holdout comes on top, about ``holdout_share`` of all targets);
    the environment's default is ``OLIST_EMAIL_BUDGET``, a run can override it."""
    holdout_share: float = 0.10
    cooldown_weeks: int = 8
    """Customers targeted in the last this many weeks are not targeted again."""


class EmailConfig(dg.Config):
    language: str = "en"
    """``en`` or ``pt-BR``."""
    discount_percent: int = 10
    valid_days: int = 30
    min_order_brl: float = 0.0
    apologetic_max_score: float = 2.0
    apologize_if_late: bool = True
    referral_min_score: float = 4.5
    referral_min_reviews: int = 1
    min_chars: int = 200
    max_chars: int = 1400


class LiftConfig(dg.Config):
    conversion_with_email: float = 0.05
    conversion_without_email: float = 0.03
    average_order_value_brl: float = 160.0
    cost_per_email_brl: float = 0.02
    discount_percent: float = 10.0



@delta_asset(
    CAMPAIGN_TARGETS.path,
    weekly=True,
    ins={"scores": upstream(["ml", "churn_scores"]), "snapshot": upstream(["gold", "customer_360"])},
    check_specs=[dg.AssetCheckSpec(checks.HOLDOUT_SHARE, asset=CAMPAIGN_TARGETS,
                                   description="The holdout is about the configured share of each week's targets "
                                               "(weeks with at least 200 targets; warning).")],
    description="The customers worth saving in week W: ranked by value at risk (churn probability x expected "
                "value), with predicted CLV and expected next order date, within the weekly budget, excluding "
                "open orders and customers targeted in the last weeks; a stable ~10% holdout gets no e-mail.",
)
def campaign_targets(context: dg.AssetExecutionContext, config: CampaignConfig, lake: LakeResource,
                     scores: pl.LazyFrame, snapshot: pl.LazyFrame):
    weeks = week_dates(context)
    targeting = TargetingConfig(config.budget, config.holdout_share, config.cooldown_weeks)
    cooldown = dt.timedelta(weeks=config.cooldown_weeks)
    history = lake.read(CAMPAIGN_TARGETS, (weeks[0] - cooldown, weeks[0]))
    history = history.select(WEEK_COLUMN, CUSTOMER) if not history.is_empty() else pl.DataFrame(
        schema={WEEK_COLUMN: pl.Date, CUSTOMER: pl.String})
    frames = []
    for week in weeks:  # in order: this run's earlier weeks count for the cooldown too
        week_scores = scores.filter(pl.col(WEEK_COLUMN) == week).collect()
        week_snapshot = snapshot.filter(pl.col(WEEK_COLUMN) == week).collect()
        recent = history.filter(pl.col(WEEK_COLUMN) >= week - cooldown)
        chosen = select_targets(week, week_scores, week_snapshot, recent, targeting)
        history = pl.concat([history, chosen.select(WEEK_COLUMN, CUSTOMER)])
        frames.append(chosen)
    targets = pl.concat(frames) if frames else pl.DataFrame(schema=TARGET_SCHEMA)
    latest = targets.filter(pl.col(WEEK_COLUMN) == targets[WEEK_COLUMN].max()) if targets.height else targets
    yield dg.Output(targets, metadata={
        **output_metadata(latest),
        "weeks_with_campaign": targets[WEEK_COLUMN].n_unique(),
        "emails": targets.filter(pl.col("group") == EMAIL).height,
        "holdout": targets.filter(pl.col("group") == HOLDOUT).height,
        "latest_value_at_risk": lift_lib.brl(float(latest["value_at_risk_brl"].sum() or 0.0)),
    })
    yield checks.holdout_share(lake.read(CAMPAIGN_TARGETS, (weeks[0], weeks[-1] + WEEK)), config.holdout_share)


EMAIL_SCHEMA = pl.Schema({
    WEEK_COLUMN: pl.Date, "campaign_id": pl.String, CUSTOMER: pl.String, "group": pl.String, "rank": pl.Int32,
    "tone": pl.String, "tone_reason": pl.String, "language": pl.String, "subject": pl.String, "body": pl.String,
    "coupon_code": pl.String, "model": pl.String, "prompt_version": pl.String, "guardrail_passed": pl.Boolean,
    "guardrail_reasons": pl.String, "needs_review": pl.Boolean, "status": pl.String, "attempts": pl.Int32,
    "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64, "cost_usd": pl.Float64, "latency_ms": pl.Float64,
    "provider_calls": pl.Int32, "error": pl.String, "context": pl.String,
})
KEEP_STATUSES = ("generated", "template_fallback", "holdout")


def last_comments(reviews: pl.LazyFrame, orders: pl.LazyFrame, customers: pl.DataFrame, cutoff: dt.datetime) -> pl.DataFrame:
    """Each customer's latest review comment written before the cutoff (point in time)."""
    return (
        reviews.filter(pl.col("has_comment") & (pl.col("created_at") < cutoff))
        .join(orders.select("order_id", CUSTOMER), on="order_id")
        .join(customers.lazy(), on=CUSTOMER, how="semi")
        .sort("created_at", "order_id")
        .group_by(CUSTOMER)
        .agg(pl.col("comment").last().alias("last_comment"))
        .collect()
    )


@delta_asset(
    RETENTION_EMAILS.path,
    weekly=True,
    ins={
        "targets": upstream(["outreach", "campaign_targets"]),
        "snapshot": upstream(["gold", "customer_360"]),
        "reviews": upstream(["silver", "order_reviews"], all_weeks=True,
                            columns=["order_id", "comment", "has_comment", "created_at"]),
        "orders": upstream(["silver", "orders"], all_weeks=True, columns=["order_id", CUSTOMER]),
    },
    extra_kinds={"litellm"},
    check_specs=[
        dg.AssetCheckSpec(checks.ONE_ROW_PER_TARGET, asset=RETENTION_EMAILS, blocking=True,
                          description="Every targeted customer (e-mail or holdout) has exactly one row."),
        dg.AssetCheckSpec(checks.GUARDRAILS_ENFORCED, asset=RETENTION_EMAILS, blocking=True,
                          description="No stored e-mail fails the guardrails unless flagged for review; no error "
                                      "is ever stored as an e-mail."),
        dg.AssetCheckSpec(checks.CODES_UNIQUE, asset=RETENTION_EMAILS, blocking=True,
                          description="Coupon codes are unique."),
        dg.AssetCheckSpec(checks.NO_EMAIL_FOR_HOLDOUT, asset=RETENTION_EMAILS, blocking=True,
                          description="Holdout customers get no e-mail."),
    ],
    description="One personalised retention e-mail per targeted customer (litellm; offline default "
                "`olist/template`): tone from the review history, own coupon code, guardrail verdict, tokens, "
                "cost, status. Holdout customers are listed with status `holdout`. A rerun keeps what was "
                "written and writes only what is missing.",
)
def retention_emails(context: dg.AssetExecutionContext, config: EmailConfig, lake: LakeResource, llm: LLMResource, coupons: CouponSigner, targets: pl.LazyFrame,
                     snapshot: pl.LazyFrame, reviews: pl.LazyFrame, orders: pl.LazyFrame):
    from olist_next_assets.lib.outreach.prompt import PROMPT_VERSION
    from olist_next_assets.lib.outreach.writer import write_batch

    weeks = week_dates(context)
    policy = DiscountPolicy(config.discount_percent, config.valid_days, config.min_order_brl)
    rules = ToneRules(config.apologetic_max_score, config.apologize_if_late, config.referral_min_score,
                      config.referral_min_reviews)
    bounds = LengthBounds(config.min_chars, config.max_chars)
    settings = llm.settings()
    stored = lake.read(RETENTION_EMAILS, (weeks[0], weeks[-1] + WEEK))
    all_targets = targets.collect()
    rows, requests, pending = [], [], []
    for week in weeks:
        week_targets = all_targets.filter(pl.col(WEEK_COLUMN) == week)
        if week_targets.is_empty():
            continue
        facts = _facts(week_targets, snapshot.filter(pl.col(WEEK_COLUMN) == week).collect(),
                       last_comments(reviews, orders, week_targets.select(CUSTOMER), cutoff_of(week)))
        kept = _reusable(stored, week, settings.model, config.language)
        for target, fact in zip(week_targets.iter_rows(named=True), facts, strict=True):
            row = _row(target, fact, coupons, policy, rules, config.language, PROMPT_VERSION)
            if target["group"] == HOLDOUT:
                rows.append({**row, "status": "holdout", "needs_review": False, "guardrail_passed": False})
            elif (target[CUSTOMER], row["coupon_code"]) in kept:
                rows.append(kept[(target[CUSTOMER], row["coupon_code"])])
            else:
                requests.append(_request(row, fact))
                pending.append(row)
    results = write_batch(requests, settings, policy, bounds) if requests else []
    for row, result in zip(pending, results, strict=True):
        rows.append({**row, "subject": result.subject, "body": result.body, "status": result.status,
                     "model": result.model or settings.model, "guardrail_passed": result.guardrail_passed,
                     "guardrail_reasons": "; ".join(result.guardrail_reasons) or None,
                     "needs_review": result.needs_review, "attempts": result.attempts,
                     "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                     "cost_usd": result.cost_usd, "latency_ms": result.latency_ms,
                     "provider_calls": result.provider_calls, "error": result.error})
    frame = pl.from_dicts(rows, schema=EMAIL_SCHEMA) if rows else pl.DataFrame(schema=EMAIL_SCHEMA)
    frame = frame.sort(WEEK_COLUMN, "rank")
    emails = frame.filter(pl.col("group") == EMAIL)
    yield dg.Output(frame, metadata={
        **output_metadata(emails.select(WEEK_COLUMN, CUSTOMER, "tone", "subject", "status")),
        "emails": emails.height, "holdout": frame.height - emails.height,
        "written_this_run": len(requests), "reused": emails.height - len(requests),
        "provider_calls": sum(r.provider_calls for r in results),
        "needs_review": int(emails["needs_review"].sum()),
        "tokens": int(emails["prompt_tokens"].sum() + emails["completion_tokens"].sum()),
        "cost_usd": float(emails["cost_usd"].sum()),
        "model": settings.model,
        "by_tone": dg.MetadataValue.json(dict(emails.group_by("tone").len().sort("tone").iter_rows())),
        "example": dg.MetadataValue.md(_example(emails)),
    })
    written = lake.read(RETENTION_EMAILS, (weeks[0], weeks[-1] + WEEK))
    yield checks.one_row_per_target(written, all_targets.select(WEEK_COLUMN, CUSTOMER))
    yield checks.guardrails_enforced(written)
    yield checks.codes_unique(written)
    yield checks.no_email_for_holdout(written)


def _facts(targets: pl.DataFrame, snapshot: pl.DataFrame, comments: pl.DataFrame):
    from olist_next_assets.lib.outreach.prompt import CustomerFacts

    joined = targets.select(CUSTOMER).join(snapshot, on=CUSTOMER, how="left", maintain_order="left").join(
        comments, on=CUSTOMER, how="left", maintain_order="left")
    return [
        CustomerFacts(r[CUSTOMER], r["favourite_category"], int(r["frequency"] or 0), float(r["monetary_total"] or 0),
                      float(r["tenure_days"] or 0), r["review_last"], r["review_min"], r["review_mean"],
                      int(r["review_count"] or 0), r["last_order_late"], r["last_comment"])
        for r in joined.iter_rows(named=True)
    ]


def _row(target: dict, fact, coupons: CouponSigner, policy: DiscountPolicy, rules: ToneRules, language: str,
         prompt_version: str) -> dict:
    from olist_next_assets.lib.outreach.prompt import build_context

    code = coupons.code(target[CUSTOMER], target["campaign_id"])
    ctx = build_context(fact, code, policy, rules, language)
    return {
        WEEK_COLUMN: target[WEEK_COLUMN], "campaign_id": target["campaign_id"], CUSTOMER: target[CUSTOMER],
        "group": target["group"], "rank": target["rank"], "tone": ctx["tone"], "tone_reason": ctx["tone_reason"],
        "language": language, "coupon_code": code if target["group"] == EMAIL else None,
        "prompt_version": prompt_version, "context": json.dumps(ctx, ensure_ascii=False), "attempts": 0,
        "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "latency_ms": 0.0, "provider_calls": 0,
    }


def _request(row: dict, fact):
    from olist_next_assets.lib.outreach.prompt import quote
    from olist_next_assets.lib.outreach.writer import EmailRequest

    return EmailRequest(row[CUSTOMER], json.loads(row["context"]), quote(fact.last_comment))


def _reusable(stored: pl.DataFrame, week: dt.date, model: str, language: str) -> dict:
    """Rows of a previous run to keep as they are: written, same model, language and prompt."""
    from olist_next_assets.lib.outreach.prompt import PROMPT_VERSION

    if stored.is_empty():
        return {}
    keep = stored.filter(
        (pl.col(WEEK_COLUMN) == week) & pl.col("status").is_in(["generated", "template_fallback"])
        & (pl.col("prompt_version") == PROMPT_VERSION) & (pl.col("language") == language)
        & (pl.col("model").eq(model) | pl.col("status").eq("template_fallback") | pl.lit(model.startswith("olist/")))
    )
    return {(r[CUSTOMER], r["coupon_code"]): r for r in keep.iter_rows(named=True)}


def _example(emails: pl.DataFrame) -> str:
    written = emails.filter(pl.col("body").is_not_null())
    if written.is_empty():
        return "No e-mail written."
    r = written.row(0, named=True)
    return f"**{r['subject']}** ({r['tone']}, {r['status']})\n\n" + r["body"].replace("\n", "  \n")


LIFT_SCHEMA = pl.Schema({
    WEEK_COLUMN: pl.Date, "campaign_id": pl.String, "status": pl.String, "emailed": pl.Int64, "holdout": pl.Int64,
    "emailed_returned": pl.Int64, "holdout_returned": pl.Int64, "emailed_return_rate": pl.Float64,
    "holdout_return_rate": pl.Float64, "lift": pl.Float64, "lift_ci_low": pl.Float64, "lift_ci_high": pl.Float64,
    "label_window_end": TIMESTAMP, "expected_incremental_orders": pl.Float64, "expected_net_brl": pl.Float64,
    "expected_net": pl.String, "expected_roi": pl.Float64, "assumptions": pl.String,
})


@delta_asset(
    CAMPAIGN_LIFT.path,
    weekly=True,
    ins={
        "targets": upstream(["outreach", "campaign_targets"], columns=[WEEK_COLUMN, "campaign_id", CUSTOMER, "group"]),
        "labels": upstream(["gold", "churn_labels"],
                           columns=[WEEK_COLUMN, CUSTOMER, "churned", "is_mature", "label_window_end"]),
    },
    description="Once the label window after a campaign week has closed: the return rate of e-mailed vs "
                "holdout customers with a 95% confidence interval (about zero on history: nothing was sent), "
                "and the expected ROI under the run-config assumptions, in R$.",
)
def campaign_lift(context: dg.AssetExecutionContext, config: LiftConfig, targets: pl.LazyFrame,
                  labels: pl.LazyFrame) -> pl.DataFrame:
    assumptions = lift_lib.RoiAssumptions(config.conversion_with_email, config.conversion_without_email,
                                          config.average_order_value_brl, config.cost_per_email_brl,
                                          config.discount_percent)
    joined = targets.join(labels, on=[WEEK_COLUMN, CUSTOMER], how="left").collect()
    rows = []
    for week in week_dates(context):
        group = joined.filter(pl.col(WEEK_COLUMN) == week)
        if group.is_empty():
            continue
        emailed, held = group.filter(pl.col("group") == EMAIL), group.filter(pl.col("group") == HOLDOUT)
        mature = bool(group["is_mature"].fill_null(False).all())
        expected = lift_lib.roi(emailed.height, assumptions)
        row = {WEEK_COLUMN: week, "campaign_id": group["campaign_id"][0], "emailed": emailed.height,
               "holdout": held.height, "label_window_end": group["label_window_end"].max(),
               "expected_incremental_orders": expected["incremental_orders"],
               "expected_net_brl": expected["net_brl"], "expected_net": lift_lib.brl(expected["net_brl"]),
               "expected_roi": expected["roi"], "assumptions": json.dumps(assumptions.__dict__),
               "status": "measured" if mature else "pending: label window still open"}
        if mature:
            e_ret = int((~emailed["churned"]).sum())
            h_ret = int((~held["churned"]).sum())
            low, high = lift_lib.difference_ci(e_ret, emailed.height, h_ret, held.height)
            e_rate = e_ret / emailed.height if emailed.height else None
            h_rate = h_ret / held.height if held.height else None
            row |= {"emailed_returned": e_ret, "holdout_returned": h_ret, "emailed_return_rate": e_rate,
                    "holdout_return_rate": h_rate,
                    "lift": None if e_rate is None or h_rate is None else e_rate - h_rate,
                    "lift_ci_low": low, "lift_ci_high": high}
        rows.append(row)
    frame = pl.from_dicts(rows, schema=LIFT_SCHEMA) if rows else pl.DataFrame(schema=LIFT_SCHEMA)
    measured = frame.filter(pl.col("status") == "measured")
    context.add_output_metadata({
        "weeks": frame.height, "weeks_measured": measured.height,
        "preview": output_metadata(frame.select(WEEK_COLUMN, "status", "emailed", "holdout", "lift", "lift_ci_low",
                                                "lift_ci_high", "expected_net"))["preview"],
    })
    return frame


outreach_assets = [campaign_targets, retention_emails, campaign_lift]
