"""Secrets and exposure: keys only from the environment, never logged or stored; UIs on localhost.

The end-to-end tests plant a fake LLM API key and a coupon secret in the environment and run the
production code location (``olist_next_assets.definitions``, ``OLIST_ENV=dev``) in child processes,
as ``olist-next run`` would, against the fake OpenAI-compatible server
(:func:`olist_next_assets.bench.reliability.planted_runs`, what ``olist-next bench reliability`` runs):

1. the whole graph for every week (bronze to e-mails, MLflow included) while the server fails for
   part of the customers (``mixed`` faults, always: 429, 500, malformed JSON...);
2. the e-mail asset alone again, against a healthy server, with the on-disk Dagster instance
   (SQLite run and event storage and compute logs under ``DAGSTER_HOME``).

Then every file under the run's folder (lake, MLflow store and artifacts, LLM cache, Dagster
storage, the first run's instance records, both runs' captured stdout and stderr at DEBUG) is
searched for the planted values, with parquet pages decoded and SQLite blobs inflated: zero hits.
The same runs prove that a rerun after provider faults calls the provider once per missing e-mail.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from olist_next_assets.bench.reliability import PLANTED_COUPON_SECRET, PLANTED_KEY, planted_runs, scan
from olist_next_assets.lib.outreach.writer import REUSABLE

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return planted_runs(tmp_path_factory.mktemp("secrets"))


@pytest.mark.slow
def test_no_planted_secret_in_the_lake_mlflow_dagster_storage_cache_or_logs(runs):
    assert runs.first["success"] and runs.second["success"]
    assert runs.first_calls > 0 and runs.second_calls > 0  # the key was sent, for real
    root = runs.root
    places = {(p.relative_to(root).parts[1] if p.relative_to(root).parts[0] == "home" else p.relative_to(root).parts[0])
              for p in root.rglob("*") if p.is_file()}
    assert {"lake", "mlflow", "llm_cache", "history", "storage", "instance_records", "captured"} <= places, places
    assert list((root / "home" / "storage").rglob("compute_logs/*.err"))  # the on-disk run's compute logs
    files, hits = scan(root, (PLANTED_KEY, PLANTED_COUPON_SECRET))
    assert files > 1000 and hits == {}, hits


def test_the_scan_finds_a_planted_value_wherever_it_hides(tmp_path):
    """The scan is not blind: raw, split in halves, in a parquet page, in a zlib blob in SQLite."""
    import sqlite3
    import zlib

    (tmp_path / "log.txt").write_text(f"api_key={PLANTED_KEY[:18]}")
    pl.DataFrame({"x": [PLANTED_KEY] * 1000}).write_parquet(tmp_path / "t.parquet", compression="zstd")
    with sqlite3.connect(tmp_path / "runs.db") as con:
        con.execute("create table snapshots (body blob)")
        con.execute("insert into snapshots values (?)", (zlib.compress(b'{"secret": "%s"}' % PLANTED_COUPON_SECRET.encode()),))
    assert PLANTED_COUPON_SECRET.encode() not in (tmp_path / "runs.db").read_bytes()  # compressed away (as
    # Dagster stores job snapshots, where the coupon secret once leaked)...
    _, hits = scan(tmp_path, (PLANTED_KEY, PLANTED_COUPON_SECRET))
    assert set(hits) == {"log.txt", "t.parquet", "runs.db"}  # ... and found anyway


@pytest.mark.slow
def test_the_email_asset_rerun_after_provider_faults_calls_only_for_the_missing_rows(runs):
    emails = runs.written.filter(pl.col("group") == "email")
    failed = emails.filter(~pl.col("status").is_in(list(REUSABLE)))
    assert failed.height > 0 and emails.filter(pl.col("status") == "generated").height > 0
    assert emails.filter(pl.col("status") == "template_fallback").height > 0  # bad answers, refused
    assert failed["body"].null_count() == failed.height and failed["needs_review"].all()
    assert failed["error"].null_count() == 0
    assert runs.second_calls == failed.height  # one call per missing e-mail, none for the rest
    after = runs.rewritten.filter(pl.col("group") == "email")
    assert after.filter(pl.col("status") == "failed").is_empty()
    keep = ["customer_unique_id", "week", "subject", "body", "status"]
    kept = emails.filter(pl.col("status").is_in(list(REUSABLE))).select(keep).sort("week", "customer_unique_id")
    again = after.join(kept.select("customer_unique_id", "week"), on=["customer_unique_id", "week"])
    assert again.select(keep).sort("week", "customer_unique_id").equals(kept)  # what was written is kept as it was


def test_keys_come_from_the_environment_only_and_are_never_shown(monkeypatch):
    """dev and prod resources hold the *name* of the variable (``dg.EnvVar``): Dagster resolves it
    when a run starts and stores the name, never the value, in run config and job snapshots."""
    import dagster as dg

    from olist_next_assets.defs.resources import resources_for_env
    from olist_next_assets.lib.outreach.writer import LLMSettings

    monkeypatch.setenv("OLIST_LLM_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("OLIST_COUPON_SECRET", PLANTED_COUPON_SECRET)
    for env in ("dev", "prod"):
        if env == "prod":
            for name in ("OLIST_LAKE_ROOT", "OLIST_LANDING_DIR", "OLIST_MLFLOW_URI"):
                monkeypatch.setenv(name, "/tmp/unused")
        resources = resources_for_env(env)
        assert isinstance(resources["llm"].api_key, dg.EnvVar) and resources["llm"].api_key == "OLIST_LLM_API_KEY"
        assert isinstance(resources["coupons"].secret, dg.EnvVar), env
        assert resources["coupons"].secret == "OLIST_COUPON_SECRET"
        shown = repr(resources) + str({k: getattr(v, "__dict__", v) for k, v in resources.items()})
        assert PLANTED_KEY not in shown and PLANTED_COUPON_SECRET not in shown, env
    assert PLANTED_KEY not in repr(LLMSettings(api_key=PLANTED_KEY))


def test_the_crm_and_the_dagster_ui_bind_to_localhost_by_default():
    from dagster_webserver.cli import DEFAULT_WEBSERVER_HOST

    from olist_next_assets.cli import build_parser

    assert build_parser().parse_args(["crm"]).host == "127.0.0.1"
    assert DEFAULT_WEBSERVER_HOST == "127.0.0.1"  # `dagster dev` passes no host unless told: the webserver's default
    for config in (PROJECT / "dagster_home" / "dagster.yaml", PROJECT / "workspace.yaml", PROJECT / "pyproject.toml"):
        text = config.read_text()
        assert "0.0.0.0" not in text and "host:" not in text, config
    assert not list(PROJECT.glob(".streamlit/config.toml")) or "0.0.0.0" not in (
        PROJECT / ".streamlit" / "config.toml").read_text()
