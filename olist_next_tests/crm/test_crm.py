"""The retention CRM on generated data: its logic, its screens (AppTest) and a real browser."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from olist_next_assets.crm.data import Refused, Store, export_csv, export_jsonl

pytestmark = pytest.mark.slow
APP = str(Path(__file__).resolve().parents[2] / "olist_next_assets" / "crm" / "app.py")
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def store(built_graph, tmp_path_factory):
    """A copy of the built lake (decisions written here do not leak into other tests)."""
    import shutil

    lake = tmp_path_factory.mktemp("crm") / "lake"
    shutil.copytree(built_graph[0], lake)
    return Store(lake)


def _pick(store: Store, group: str = "email", offset: int = 0) -> tuple:
    week = store.weeks()[0]
    queue = store.queue(week).filter(pl.col("group") == group)
    return week, queue["customer_unique_id"][offset]


def test_the_queue_shows_the_latest_campaign_with_its_holdout(store):
    week = store.weeks()[0]
    queue = store.queue(week)
    assert queue.height > 0 and set(queue["group"]) == {"email", "holdout"}
    assert (queue.filter(pl.col("group") == "holdout")["review_status"] == "holdout (no e-mail)").all()
    assert queue.filter(pl.col("group") == "email")["review_status"].unique().to_list() == ["to review"]
    assert queue["risk_band"].null_count() == 0 and queue["customer_state"].null_count() == 0


def test_approving_editing_rejecting_and_exporting(store):
    week, customer = _pick(store)
    draft = store.current_draft(week, customer)
    edited = draft["body"].replace("\n\n", "\n\nWe read every review.\n\n", 1)
    store.save_edit(week, customer, draft["subject"], edited, "ana")
    assert store.current_draft(week, customer)["body"] == edited
    store.approve(week, customer, draft["subject"], edited, "ana")
    assert store.current_draft(week, customer)["review_status"] == "approved"
    exported = store.export(week)
    assert exported["customer_unique_id"].to_list() == [customer]
    row = json.loads(export_jsonl(exported).decode().splitlines()[0])
    assert row["body"] == edited and row["coupon_code"] in row["body"] and row["decided_by"] == "ana"
    assert export_csv(exported).decode().splitlines()[0].split(",")[:3] == ["campaign_id", "customer_unique_id",
                                                                             "coupon_code"]
    _, other = _pick(store, offset=1)
    with pytest.raises(Refused, match="reason"):
        store.reject(week, other, "  ", "ana")
    store.reject(week, other, "customer asked not to be contacted", "ana")
    assert store.current_draft(week, other)["review_status"] == "rejected"


def test_an_email_breaking_the_guardrails_cannot_be_approved(store):
    week, customer = _pick(store, offset=2)
    draft = store.current_draft(week, customer)
    broken = draft["body"].replace(draft["coupon_code"], "OLIST-AAAAAAAAAA") + " Free shipping at www.x.com"
    before = store.decisions(week).height
    with pytest.raises(Refused, match="coupon code is missing.*link|coupon code"):
        store.approve(week, customer, draft["subject"], broken, "ana")
    assert store.decisions(week).height == before  # nothing recorded


def test_holdout_customers_cannot_be_emailed(store):
    week, customer = _pick(store, "holdout")
    with pytest.raises(Refused, match="holdout"):
        store.approve(week, customer, "Subject", "Body", "ana")
    with pytest.raises(Refused, match="holdout"):
        store.regenerate(week, customer, "ana")


def test_regenerate_calls_the_configured_model_and_keeps_the_result(store):
    week, customer = _pick(store, offset=3)
    result = store.regenerate(week, customer, "ana")
    assert result["status"] == "generated" and store.current_draft(week, customer)["body"] == result["body"]
    assert store.decisions(week).filter(pl.col("customer_unique_id") == customer)["decision"].to_list() == [
        "regenerated"]


def test_the_screens_with_streamlit_apptest(store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OLIST_LAKE_ROOT", str(store.lake))
    week, customer = _pick(store, offset=4)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="customer").select(customer).run()
    assert at.text_input(key="subject").value == store.current_draft(week, customer)["subject"]
    body = at.text_area(key="body").value
    at.text_area(key="body").input(body.replace(store.current_draft(week, customer)["coupon_code"], "")).run()
    assert any("coupon code is missing" in e.value for e in at.error)
    at.button(key="approve").click().run()
    assert any("Not approved" in e.value for e in at.error)
    at.text_area(key="body").input(body).run()
    at.button(key="approve").click().run()
    assert not at.exception
    assert store.current_draft(week, customer)["review_status"] == "approved"


def _stop(server: subprocess.Popen) -> None:
    """Stop the app and anything it started (its own process group); kill it if it lingers."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is needed (apt-get install chromium)")
def test_a_specialist_approves_an_email_in_a_real_browser(store, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    week, customer = _pick(store, offset=5)
    port = _free_port()
    env = {**os.environ, "OLIST_LAKE_ROOT": str(store.lake), "OLIST_CRM_USER": "browser-test"}
    server = subprocess.Popen([sys.executable, "-m", "olist_next_assets.cli", "crm", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"http://127.0.0.1:{port}/?week={week}&customer={customer}")
            page.get_by_role("tab", name="Customer").click()
            expect(page.get_by_text("E-mail draft")).to_be_visible(timeout=60_000)
            page.screenshot(path=str(tmp_path / "customer.png"), full_page=True)
            page.get_by_role("button", name="Regenerate").click()
            expect(page.get_by_text("status regenerated")).to_be_visible(timeout=60_000)
            body = page.get_by_label("Body")
            edited = body.input_value() + "\n\nP.S. Thank you for reading."
            body.fill(edited)
            body.press("Control+Enter")
            page.get_by_role("button", name="Approve").click()
            expect(page.get_by_text("status approved")).to_be_visible(timeout=60_000)
            page.reload()
            page.get_by_role("tab", name="Customer").click()
            expect(page.get_by_text("status approved")).to_be_visible(timeout=60_000)  # persisted, not session state
            page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
            browser.close()
    finally:
        _stop(server)
    decisions = store.decisions(week).filter(pl.col("customer_unique_id") == customer)
    assert decisions["decision"].to_list() == ["regenerated", "approved"]
    assert decisions["body"][-1].endswith("P.S. Thank you for reading.")
    assert decisions["decided_by"].unique().to_list() == ["browser-test"]
