"""Olist-Next retention CRM (Streamlit): ``olist-next crm`` serves it on 127.0.0.1:8501.

Queue -> a customer -> the draft: regenerate (the configured LLM, live), edit, approve (refused
when the e-mail breaks the guardrails) or reject with a reason. Decisions are Delta rows; the
customer shown is in the URL (``?customer=...``), so a reload comes back to the same screen.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from pathlib import Path

import numpy as np
import polars as pl
import streamlit as st

from olist_next_assets.crm.data import Refused, Store, export_csv, export_jsonl
from olist_next_assets.lib.outreach.lift import brl

st.set_page_config(page_title="Olist-Next retention CRM", layout="wide")


def _lake() -> Path:
    from olist_next_assets.defs.resources import dagster_home

    return Path(os.environ.get("OLIST_LAKE_ROOT") or dagster_home() / "lake")


store = Store(_lake())
weeks = store.weeks()
st.title("Retention CRM")
if not weeks:
    st.warning(f"No campaign in {store.lake}: run `olist-next run` first.")
    st.stop()

with st.sidebar:
    reviewer = st.text_input("Reviewer", value=os.environ.get("OLIST_CRM_USER") or getpass.getuser(), key="reviewer")
    week_param = st.query_params.get("week")
    week_index = next((i for i, w in enumerate(weeks) if str(w) == week_param), 0)
    week = st.selectbox("Campaign week", weeks, index=week_index, key="week")
    st.query_params["week"] = str(week)
    queue = store.queue(week)
    bands = st.multiselect("Risk band", sorted(queue["risk_band"].drop_nulls().unique()), key="bands")
    tones = st.multiselect("Tone", sorted(queue["tone"].drop_nulls().unique()), key="tones")
    states = st.multiselect("State", sorted(queue["customer_state"].drop_nulls().unique()), key="states")
    categories = st.multiselect("Category", sorted(queue["favourite_category"].drop_nulls().unique()), key="cats")
    sort = st.selectbox("Sort by", ["value_at_risk_brl", "churn_probability", "predicted_clv_brl", "rank"], key="sort")

view = queue
for column, chosen in (("risk_band", bands), ("tone", tones), ("customer_state", states),
                       ("favourite_category", categories)):
    if chosen:
        view = view.filter(pl.col(column).is_in(chosen))
view = view.sort(sort, descending=sort != "rank", nulls_last=True)

queue_tab, customer_tab, campaign_tab = st.tabs(["Queue", "Customer", "Campaign"])

with queue_tab:
    st.caption(f"{view.height:,} of {queue.height:,} targeted customers in week {week}; the holdout group is listed "
               "but cannot be e-mailed.")
    st.dataframe(
        view.select("rank", "customer_unique_id", "group", "review_status", "risk_band", "churn_probability",
                    "value_at_risk_brl", "predicted_clv_brl", "customer_state", "favourite_category", "tone",
                    "subject").to_pandas(),
        hide_index=True, width="stretch",
        column_config={"churn_probability": st.column_config.NumberColumn(format="%.3f"),
                       "value_at_risk_brl": st.column_config.NumberColumn("value at risk", format="R$ %.2f"),
                       "predicted_clv_brl": st.column_config.NumberColumn("predicted CLV", format="R$ %.2f")},
    )
    approved = store.export(week)
    st.write(f"**{approved.height}** approved e-mails ready to export.")
    left, right = st.columns(2)
    left.download_button("Export approved (CSV)", export_csv(approved), f"approved-{week}.csv", "text/csv",
                         key="export_csv")
    right.download_button("Export approved (JSON lines)", export_jsonl(approved), f"approved-{week}.jsonl",
                          "application/x-ndjson", key="export_jsonl")

with customer_tab:
    options = view["customer_unique_id"].to_list() or queue["customer_unique_id"].to_list()
    wanted = st.query_params.get("customer")
    index = options.index(wanted) if wanted in options else 0
    customer = st.selectbox("Customer", options, index=index, key="customer")
    st.query_params["customer"] = customer
    row = queue.filter(pl.col("customer_unique_id") == customer).row(0, named=True)
    info = store.customer(week, customer)
    snap = info["snapshot"]
    top, bottom = st.columns(4), st.columns(4)
    top[0].metric("Churn probability", f"{row['churn_probability']:.3f}")
    top[1].metric("Risk band", row["risk_band"])
    top[2].metric("Value at risk", brl(row["value_at_risk_brl"]))
    top[3].metric("Model version", f"v{row['model_version']}")
    bottom[0].metric("Spend", brl(snap.get("monetary_total") or 0.0))
    bottom[1].metric("Orders", snap.get("frequency"))
    bottom[2].metric("Customer for", f"{snap.get('tenure_days', 0):.0f} days")
    bottom[3].metric("Predicted CLV", brl(row["predicted_clv_brl"]))
    next_order = row["expected_next_order_at"]
    overdue = " (overdue)" if next_order is not None and next_order.date() < week + dt.timedelta(days=7) else ""
    st.write(f"**Favourite category:** {snap.get('favourite_category') or '-'} · **State:** "
             f"{snap.get('customer_state') or '-'} · **Expected next order:** {str(next_order)[:10]}{overdue}")
    st.write("**Why at risk:** " + "; ".join(r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r))
    history, reviews = st.columns(2)
    history.write("Delivery history")
    history.dataframe(info["orders"].to_pandas(), hide_index=True, width="stretch")
    reviews.write("Reviews")
    reviews.dataframe(info["reviews"].to_pandas(), hide_index=True, width="stretch")

    st.subheader("E-mail draft")
    if row["group"] == "holdout":
        st.info("Holdout group: this customer gets no e-mail this week (that is what makes lift measurable).")
    else:
        draft = store.current_draft(week, customer)
        st.write(f"Tone **{draft['tone']}** ({draft['tone_reason']}) · coupon `{draft['coupon_code']}` · "
                 f"status **{draft['review_status']}** · written by {draft['model']}")
        if st.session_state.get("draft_for") != (str(week), customer) or st.session_state.get("reload_draft"):
            st.session_state["subject"], st.session_state["body"] = draft["subject"] or "", draft["body"] or ""
            st.session_state["draft_for"], st.session_state["reload_draft"] = (str(week), customer), False
        subject = st.text_input("Subject", key="subject")
        body = st.text_area("Body", key="body", height=280)
        reasons = store.verdict(week, customer, subject, body)
        if reasons:
            st.error("Guardrails: " + "; ".join(reasons))
        else:
            st.success("Guardrails: passed")
        regenerate, save, approve, reject = st.columns(4)
        reject_reason = st.text_input("Reason to reject", key="reject_reason")
        try:
            if regenerate.button("Regenerate", key="regenerate"):
                store.regenerate(week, customer, reviewer)
                st.session_state["reload_draft"] = True
                st.rerun()
            if save.button("Save edit", key="save"):
                store.save_edit(week, customer, subject, body, reviewer)
                st.toast("Edit saved")
            if approve.button("Approve", key="approve", type="primary"):
                store.approve(week, customer, subject, body, reviewer)
                st.session_state["reload_draft"] = True
                st.rerun()
            if reject.button("Reject", key="reject"):
                store.reject(week, customer, reject_reason, reviewer)
                st.session_state["reload_draft"] = True
                st.rerun()
        except Refused as refused:
            st.error(str(refused))
        log = store.decisions(week).filter(pl.col("customer_unique_id") == customer)
        st.write("Decision history")
        st.dataframe(log.select("decided_at", "decided_by", "decision", "reason", "subject").to_pandas(),
                     hide_index=True, width="stretch")

with campaign_tab:
    emails = queue.filter(pl.col("group") == "email")
    left, right = st.columns(2)
    left.write("E-mails by tone and risk band")
    left.dataframe(emails.pivot(on="risk_band", index="tone", values="customer_unique_id", aggregate_function="len")
                   .to_pandas(), hide_index=True)
    right.write("Review status")
    right.dataframe(queue.group_by("review_status").len().sort("review_status").to_pandas(), hide_index=True)
    lift = store.lift(week)
    if lift:
        cols = st.columns(3)
        cols[0].metric("Expected net (ROI assumptions)", lift["expected_net"])
        cols[1].metric("Expected incremental orders", f"{lift['expected_incremental_orders']:.1f}")
        if lift["lift"] is not None:
            cols[2].metric("Measured lift (e-mailed - holdout)", f"{lift['lift']:+.2%}",
                           help=f"95% interval [{lift['lift_ci_low']:+.2%}, {lift['lift_ci_high']:+.2%}]")
        else:
            cols[2].metric("Measured lift (e-mailed - holdout)", "pending",
                           help=f"The label window closes on {str(lift['label_window_end'])[:10]}.")
    scores = store.score_distribution(week)
    if scores.height:
        counts, edges = np.histogram(scores["churn_probability"].to_numpy(), bins=30)
        st.write(f"Churn probability, all {scores.height:,} scored customers of week {week}")
        st.bar_chart(pl.DataFrame({"churn probability": np.round(edges[:-1], 3), "customers": counts}).to_pandas(),
                     x="churn probability", y="customers")
st.caption(f"Lake: {store.lake} · {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
