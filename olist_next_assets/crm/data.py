"""What the CRM reads and writes, over the lake's Delta tables (no Streamlit here).

Decisions go to ``crm/email_decisions``, an append-only Delta table (one transaction per
decision): who, when, what, and the exact subject and body. The current state of an e-mail is its
latest decision, so nothing is lost on a page reload and the history stays auditable.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from olist_next_assets.lib.contracts import TIMESTAMP

CUSTOMER = "customer_unique_id"
DECISIONS = ("crm", "email_decisions")
DECISION_SCHEMA = pl.Schema({
    "week": pl.Date, CUSTOMER: pl.String, "decision": pl.String, "reason": pl.String, "subject": pl.String,
    "body": pl.String, "model": pl.String, "decided_by": pl.String, "decided_at": TIMESTAMP,
})
EXPORT_COLUMNS = ["campaign_id", CUSTOMER, "coupon_code", "language", "subject", "body", "decided_by", "decided_at"]


class Refused(Exception):
    """An action the CRM will not take, with the reason in words."""


@dataclass(frozen=True)
class Store:
    lake: Path

    def _path(self, *parts: str) -> str:
        return str(self.lake.joinpath(*parts))

    def _scan(self, *parts: str) -> pl.LazyFrame | None:
        path = self.lake.joinpath(*parts)
        return pl.scan_delta(str(path)) if (path / "_delta_log").exists() else None

    def weeks(self) -> list[dt.date]:
        emails = self._scan("outreach", "retention_emails")
        if emails is None:
            return []
        return sorted(emails.select(pl.col("week").unique()).collect()["week"].to_list(), reverse=True)

    def queue(self, week: dt.date) -> pl.DataFrame:
        """The week's targeted customers with their draft, risk, value, state, category and decision."""
        emails = self._scan("outreach", "retention_emails").filter(pl.col("week") == week)
        targets = self._scan("outreach", "campaign_targets").filter(pl.col("week") == week).select(
            CUSTOMER, "churn_probability", "risk_band", "value_at_risk_brl", "predicted_clv_brl",
            "expected_next_order_at", "reason_1", "reason_2", "reason_3", "model_version")
        snapshot = self._scan("gold", "customer_360").filter(pl.col("week") == week).select(
            CUSTOMER, "customer_state", "favourite_category")
        queue = (emails.join(targets, on=CUSTOMER, how="left").join(snapshot, on=CUSTOMER, how="left")
                 .sort("rank").collect())
        latest = self.latest_decisions(week)
        return queue.join(latest.select(CUSTOMER, pl.col("decision").alias("review_status")), on=CUSTOMER,
                          how="left").with_columns(
            pl.when(pl.col("group") == "holdout").then(pl.lit("holdout (no e-mail)"))
            .otherwise(pl.col("review_status").fill_null("to review")).alias("review_status"))

    def customer(self, week: dt.date, customer: str) -> dict:
        """Everything the Customer 360 screen shows, read for one customer (fast: filtered scans)."""
        snap = self._scan("gold", "customer_360").filter((pl.col("week") == week) & (pl.col(CUSTOMER) == customer))
        orders = self._scan("silver", "orders").filter(pl.col(CUSTOMER) == customer)
        order_rows, snap_row = pl.collect_all([
            orders.select("order_id", "order_status", "purchased_at", "delivered_at", "estimated_delivery_at",
                          "delivery_delay_days", "is_late").sort("purchased_at"),
            snap,
        ])
        reviews = self._scan("silver", "order_reviews").join(
            orders.select("order_id"), on="order_id", how="semi"
        ).select("created_at", "score", "comment", "comment_sentiment").sort("created_at").collect()
        return {"snapshot": snap_row.row(0, named=True) if snap_row.height else {}, "orders": order_rows,
                "reviews": reviews}

    def score_distribution(self, week: dt.date) -> pl.DataFrame:
        scores = self._scan("ml", "churn_scores")
        if scores is None:
            return pl.DataFrame()
        return scores.filter(pl.col("week") == week).select("churn_probability", "risk_band").collect()

    def lift(self, week: dt.date) -> dict | None:
        lift = self._scan("outreach", "campaign_lift")
        if lift is None:
            return None
        rows = lift.filter(pl.col("week") == week).collect()
        return rows.row(0, named=True) if rows.height else None

    # --- decisions -------------------------------------------------------------------------

    def decisions(self, week: dt.date | None = None) -> pl.DataFrame:
        table = self._scan(*DECISIONS)
        if table is None:
            return pl.DataFrame(schema=DECISION_SCHEMA)
        if week is not None:
            table = table.filter(pl.col("week") == week)
        return table.sort("decided_at").collect()

    def latest_decisions(self, week: dt.date) -> pl.DataFrame:
        return self.decisions(week).group_by(CUSTOMER, maintain_order=True).last()

    def current_draft(self, week: dt.date, customer: str) -> dict:
        """The e-mail as it stands: the batch's draft, overridden by the latest edit or regeneration."""
        email = self._email(week, customer)
        history = self.decisions(week).filter(pl.col(CUSTOMER) == customer)
        if history.height:
            last = history.row(-1, named=True)
            email = {**email, "subject": last["subject"] or email["subject"], "body": last["body"] or email["body"],
                     "model": last["model"] or email["model"], "review_status": last["decision"]}
        else:
            email["review_status"] = "to review"
        return email

    def _email(self, week: dt.date, customer: str) -> dict:
        rows = self._scan("outreach", "retention_emails").filter(
            (pl.col("week") == week) & (pl.col(CUSTOMER) == customer)).collect()
        if rows.is_empty():
            raise Refused(f"{customer} is not in the campaign of {week}.")
        return rows.row(0, named=True)

    def _record(self, week: dt.date, customer: str, decision: str, who: str, subject: str | None = None,
                body: str | None = None, reason: str | None = None, model: str | None = None) -> None:
        from deltalake import write_deltalake

        if not who.strip():
            raise Refused("Say who you are (the reviewer name) before deciding.")
        row = pl.DataFrame([{"week": week, CUSTOMER: customer, "decision": decision, "reason": reason,
                             "subject": subject, "body": body, "model": model, "decided_by": who.strip(),
                             "decided_at": dt.datetime.now(dt.UTC)}], schema=DECISION_SCHEMA)
        write_deltalake(self._path(*DECISIONS), row.to_arrow(), mode="append")

    def _check(self, email: dict, subject: str, body: str) -> list[str]:
        from olist_next_assets.lib.outreach.guardrails import check
        from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds

        context = json.loads(email["context"])
        policy = DiscountPolicy(percent=int(context["discount"].split("%")[0]))
        return check(subject, body, {**context, "coupon_code": email["coupon_code"]}, policy, LengthBounds()).reasons

    def verdict(self, week: dt.date, customer: str, subject: str, body: str) -> list[str]:
        return self._check(self._email(week, customer), subject, body)

    def save_edit(self, week: dt.date, customer: str, subject: str, body: str, who: str) -> list[str]:
        email = self._writable(week, customer)
        self._record(week, customer, "edited", who, subject, body, model=f"{email['model']} + edit by {who}")
        return self._check(email, subject, body)

    def approve(self, week: dt.date, customer: str, subject: str, body: str, who: str) -> None:
        email = self._writable(week, customer)
        reasons = self._check(email, subject, body)
        if reasons:
            raise Refused("Not approved: the e-mail breaks the guardrails: " + "; ".join(reasons))
        self._record(week, customer, "approved", who, subject, body, model=email["model"])

    def reject(self, week: dt.date, customer: str, reason: str, who: str) -> None:
        self._writable(week, customer)
        if not reason.strip():
            raise Refused("Give a reason to reject.")
        draft = self.current_draft(week, customer)
        self._record(week, customer, "rejected", who, draft["subject"], draft["body"], reason=reason.strip(),
                     model=draft["model"])

    def regenerate(self, week: dt.date, customer: str, who: str, settings=None) -> dict:
        """A fresh draft from the configured LLM (live: no cache), checked by the guardrails."""
        from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds
        from olist_next_assets.lib.outreach.prompt import quote
        from olist_next_assets.lib.outreach.writer import EmailRequest, LLMSettings, write_batch

        email = self._writable(week, customer)
        context = json.loads(email["context"])
        reviews = self.customer(week, customer)["reviews"]
        cutoff = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(), tzinfo=dt.UTC)
        written = reviews.filter(pl.col("comment").is_not_null() & (pl.col("created_at") < cutoff))
        review = quote(written["comment"][-1]) if written.height else ""
        settings = settings or LLMSettings(model=_env_model(), api_base=_env("OLIST_LLM_API_BASE"),
                                           api_key=_env("OLIST_LLM_API_KEY"), temperature=0.9, cache_dir=None)
        policy = DiscountPolicy(percent=int(context["discount"].split("%")[0]))
        (result,) = write_batch([EmailRequest(customer, context, review)], settings, policy, LengthBounds())
        if result.body is None:
            raise Refused(f"The model could not write a draft ({result.error}); the current draft is kept.")
        self._record(week, customer, "regenerated", who, result.subject, result.body,
                     reason="; ".join(result.guardrail_reasons) or None, model=result.model)
        return {"subject": result.subject, "body": result.body, "status": result.status,
                "reasons": result.guardrail_reasons}

    def _writable(self, week: dt.date, customer: str) -> dict:
        email = self._email(week, customer)
        if email["group"] == "holdout":
            raise Refused("This customer is in the holdout group: no e-mail may be sent (that is what makes lift "
                          "measurable).")
        return email

    def export(self, week: dt.date) -> pl.DataFrame:
        """The approved e-mails of a week, in the shape an e-mail service imports."""
        approved = self.latest_decisions(week).filter(pl.col("decision") == "approved")
        emails = self._scan("outreach", "retention_emails").filter(pl.col("week") == week).select(
            "campaign_id", CUSTOMER, "coupon_code", "language").collect()
        return approved.join(emails, on=CUSTOMER).select(EXPORT_COLUMNS).sort(CUSTOMER)


def _env(name: str) -> str | None:
    import os

    return os.environ.get(name) or None


def _env_model() -> str:
    return _env("OLIST_LLM_MODEL") or "olist/template"


def export_csv(frame: pl.DataFrame) -> bytes:
    return frame.with_columns(pl.col("decided_at").dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_csv().encode()


def export_jsonl(frame: pl.DataFrame) -> bytes:
    return frame.with_columns(pl.col("decided_at").dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_ndjson().encode()
