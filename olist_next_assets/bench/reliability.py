"""``olist-next bench reliability``: the reliability corpora, run end to end, as one table.

* **bad input**: every broken export of :mod:`olist_next_assets.lib.reliability.bad_input` through
  real bronze materializations (cases tried and passed, source rows lost: must be 0);
* **LLM faults**: every case of :mod:`olist_next_assets.lib.outreach.faults` against the fake
  OpenAI-compatible server, through litellm (cases tried and passed, provider calls, the rerun);
* **prompt injection**: every attack of :mod:`olist_next_assets.lib.outreach.attacks` with the
  offline template writer and with a compromised model that obeys it (cases tried and passed);
* **secrets**: a planted API key and coupon secret in the environment, the production code location
  run in child processes (the whole graph against a faulty server, then the e-mails again against a
  healthy one, on an on-disk Dagster instance), and every file of the run searched for them (hits:
  must be 0). The same runs show the e-mail asset's rerun calls the provider once per missing row.

The secret scan machinery lives here so that ``olist_next_tests/reliability/test_secrets.py`` runs
exactly what the bench runs. ``python -m olist_next_assets.bench.reliability child graph|emails``
is the child process.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PLANTED_KEY = "sk-test-PLANTED-7c1e9a0b5d3f42e8a6b4"
PLANTED_COUPON_SECRET = "coupon-secret-PLANTED-3b8d2f6e1a"
EMAIL_BUDGET = 40
RETENTION_EMAILS = ("outreach", "retention_emails")


# --- the secret scan -----------------------------------------------------------------------------

def needles(*secrets: str) -> list[bytes]:
    """Each secret, and its halves (a truncated or split copy is a leak too)."""
    found = []
    for secret in secrets:
        found += [secret.encode(), secret[: len(secret) // 2].encode(), secret[len(secret) // 2:].encode()]
    return found


def _sqlite_text(path: Path) -> bytes:
    """Every value of every table, zlib-compressed blobs inflated (Dagster stores job snapshots so)."""
    chunks = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        tables = [name for (name,) in con.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        try:
                            value = zlib.decompress(value)
                        except zlib.error:
                            pass
                        chunks.append(value)
                    elif isinstance(value, str):
                        chunks.append(value.encode())
    return b"\n".join(chunks)


def readable(path: Path) -> bytes:
    """The file's bytes, plus what a compressed format hides: parquet pages, SQLite blobs, gzip."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        data += pq.read_table(path).to_pandas().to_csv().encode()
    elif data.startswith(b"SQLite format 3\x00"):
        data += _sqlite_text(path)
    elif data.startswith(b"\x1f\x8b"):
        data += gzip.decompress(data)
    return data


def scan(root: Path, secrets: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    """(files scanned, hits per file) for every file under ``root``."""
    wanted = needles(*secrets)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    hits = {}
    for path in files:
        data = readable(path)
        count = sum(data.count(n) for n in wanted)
        if count:
            hits[str(path.relative_to(root))] = count
    return len(files), hits


# --- the planted runs ------------------------------------------------------------------------------

@dataclass
class PlantedRuns:
    root: Path
    first: dict
    second: dict
    first_calls: int
    second_calls: int
    written: object  # the e-mails table after the first run (polars DataFrame)
    rewritten: object  # ... and after the second


def _child_env(root: Path, api_base: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLIST_", "DAGSTER_", "LITELLM_"))}
    env.update(DAGSTER_HOME=str(root / "home"), OLIST_ENV="dev", OLIST_LANDING_DIR=str(root / "landing"),
               OLIST_LLM_MODEL="openai/gpt-4o-mini", OLIST_LLM_API_BASE=api_base, OLIST_LLM_API_KEY=PLANTED_KEY,
               OLIST_COUPON_SECRET=PLANTED_COUPON_SECRET, PYTHONPATH=str(PROJECT))
    return env


def run_child(root: Path, which: str, api_base: str) -> dict:
    """The production code location in a child process with the planted environment; its stdout
    and stderr (console logs at DEBUG) are kept under ``root/captured`` for the scan."""
    process = subprocess.run([sys.executable, "-m", "olist_next_assets.bench.reliability", "child", which],
                             env=_child_env(root, api_base), capture_output=True, text=True, cwd=root, timeout=1800,
                             check=False)
    (root / "captured").mkdir(exist_ok=True)
    (root / "captured" / f"{which}.stdout").write_text(process.stdout)
    (root / "captured" / f"{which}.stderr").write_text(process.stderr)
    if process.returncode != 0:
        raise RuntimeError(f"the {which} run failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def planted_runs(root: Path, customers: int = 2500, seed: int = 11) -> PlantedRuns:
    """Generate a landing zone, then run (1) the whole graph for every week against a server
    failing for part of the customers (``mixed`` faults, always) and (2) the e-mail asset alone
    against a healthy server, with the on-disk Dagster instance."""
    import polars as pl

    from olist_next_assets.bench.fake_llm import FakeLLM
    from olist_next_assets.lib.synthetic import generate

    generate(root / "landing", customers=customers, seed=seed)
    (root / "home").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "dagster_home" / "dagster.yaml", root / "home" / "dagster.yaml")
    emails = str(root / "home" / "lake" / Path(*RETENTION_EMAILS))
    with FakeLLM(behaviour="mixed", failures=-1, slow_seconds=0.0) as faulty:
        first = run_child(root, "graph", faulty.url)
        first_calls = faulty.calls
    written = pl.read_delta(emails)
    with FakeLLM() as healthy:
        second = run_child(root, "emails", healthy.url)
        second_calls = healthy.calls
    return PlantedRuns(root, first, second, first_calls, second_calls, written, pl.read_delta(emails))


def child(which: str) -> None:
    """Materialize through ``olist_next_assets.definitions`` (the environment's resources) and
    print the result as JSON. ``graph``: every asset and week, on an in-memory instance (SQLite
    costs ~12 ms an event) whose run, job snapshot, plan and every event are then written to
    ``instance_records/``; ``emails``: the e-mail asset again, on the on-disk instance."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from dagster._serdes import serialize_value

    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    from olist_next_assets.definitions import defs
    from olist_next_assets.defs.partitions import weekly_partitions

    keys = weekly_partitions.get_partition_keys()
    tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
    if which == "graph":
        instance = dg.DagsterInstance.ephemeral()
        job = defs.resolve_job_def("olist_next_job")
        run_config["ops"] = {"ml__churn_model": {"config": {"min_train_positives": 100}},
                             "outreach__campaign_targets": {"config": {"budget": EMAIL_BUDGET}}}
    elif which == "emails":
        instance = dg.DagsterInstance.get()
        only = dg.define_asset_job("retention_emails_only", selection=[dg.AssetKey(list(RETENTION_EMAILS))])
        job = dg.Definitions.merge(defs, dg.Definitions(jobs=[only])).resolve_job_def("retention_emails_only")
    else:
        raise SystemExit(f"child graph|emails, not {which!r}")
    result = job.execute_in_process(instance=instance, run_config=run_config, tags=tags, raise_on_error=False)
    if which == "graph":
        records = Path(os.environ["DAGSTER_HOME"]).parent / "instance_records"
        records.mkdir(exist_ok=True)
        run = instance.get_run_by_id(result.run_id)
        lines = [serialize_value(run), serialize_value(instance.get_job_snapshot(run.job_snapshot_id)),
                 serialize_value(instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)),
                 *(serialize_value(entry) for entry in instance.all_logs(result.run_id))]
        (records / f"{result.run_id}.jsonl").write_text("\n".join(lines))
    print(json.dumps({"success": result.success, "run_id": result.run_id}))


# --- the parts of the table ------------------------------------------------------------------------

@dataclass
class Row:
    part: str
    tried: int | None
    passed: int | None
    figure: str
    seconds: float
    failures: list[str]

    @property
    def ok(self) -> bool:
        return self.tried is not None and self.tried == self.passed and not self.failures


def bad_input_rows(workdir: Path) -> list[Row]:
    """The bad-input corpus (``olist_next_assets.lib.reliability.bad_input``): cases and rows lost."""
    started = time.perf_counter()
    try:
        from olist_next_assets.lib.reliability import bad_input
    except ImportError as error:
        return [Row("bad input: broken exports through bronze", None, None, f"not available ({error})", 0.0,
                    ["the bad-input corpus is not installed"])]
    log = workdir / "bad_input.log"  # Dagster's console output of ~50 runs, kept out of the table
    with log.open("w") as sink, contextlib.redirect_stderr(sink):
        results = bad_input.run_corpus(workdir / "bad_input")
    figures = bad_input.summary(results)
    failures = [f"{r.name}: {r.message}" for r in results if not r.passed]
    if figures["rows_lost"]:
        failures.append(f"{figures['rows_lost']} source rows lost")
    return [Row("bad input: broken exports through bronze", figures["cases_tried"], figures["cases_passed"],
                f"rows lost: {figures['rows_lost']}", time.perf_counter() - started, failures)]


def fault_rows(workdir: Path) -> list[Row]:
    from olist_next_assets.lib.outreach.faults import FAULT_CASES, run_fault_case

    started = time.perf_counter()
    outcomes = [run_fault_case(case, str(workdir)) for case in FAULT_CASES]
    calls, retries = sum(o.provider_calls for o in outcomes), sum(o.retries for o in outcomes)
    rerun = sum(o.rerun_calls for o in outcomes)
    missing = sum(n for o in outcomes for status, n in o.statuses.items() if status == "failed")
    figure = f"{calls:,} provider calls, {retries} retries; rerun: {rerun} calls for {missing} missing e-mails"
    return [Row("LLM faults through litellm (loopback server)", len(outcomes), sum(o.passed for o in outcomes),
                figure, time.perf_counter() - started, [o.summary() for o in outcomes if not o.passed])]


def injection_rows() -> list[Row]:
    from olist_next_assets.lib.outreach.attacks import run_attacks

    rows = []
    for writer, label in (("template", "prompt injection: offline template writer"),
                          ("compromised", "prompt injection: a model that obeys (guardrails)")):
        started = time.perf_counter()
        outcomes = run_attacks(writer)
        flagged = sum(o.flagged for o in outcomes)
        quoted = sum(o.quoted for o in outcomes)
        figure = (f"{sum(o.status == 'generated' for o in outcomes)} written; {quoted} quote the review as data, "
                  "in quotation marks" if writer == "template"
                  else f"{flagged} refused by the guardrails and flagged for review")
        rows.append(Row(label, len(outcomes), sum(o.passed for o in outcomes), figure, time.perf_counter() - started,
                        [f"{o.case}: {o.problems}" for o in outcomes if not o.passed]))
    return rows


def secret_rows(workdir: Path, customers: int) -> list[Row]:
    from olist_next_assets.lib.outreach.writer import REUSABLE

    started = time.perf_counter()
    runs = planted_runs(workdir / "secrets", customers=customers)
    files, hits = scan(runs.root, (PLANTED_KEY, PLANTED_COUPON_SECRET))
    failures = [f"{path}: {count} hits" for path, count in hits.items()]
    emails = runs.written.filter(runs.written["group"] == "email")
    missing = emails.filter(~emails["status"].is_in(list(REUSABLE))).height
    rows = [Row("secret-leak scan: planted key and coupon secret", files, files - len(hits),
                f"{sum(hits.values())} hits in {files:,} files (lake, MLflow, Dagster, cache, logs)",
                time.perf_counter() - started, failures)]
    rerun_ok = runs.second_calls == missing and not (runs.rewritten["status"] == "failed").any()
    rows.append(Row("e-mail asset rerun after provider faults", 1, int(rerun_ok),
                    f"{missing} e-mails missing after faults, {runs.second_calls} calls to rewrite them", 0.0,
                    [] if rerun_ok else [f"{runs.second_calls} calls for {missing} missing e-mails"]))
    return rows


def main(customers: int = 2500, skip: tuple[str, ...] = (), keep: bool = False) -> int:
    from olist_next_assets.lib.outreach.llm import litellm

    started = time.perf_counter()
    litellm()
    workdir = Path(tempfile.mkdtemp(prefix="olist-bench-reliability-"))
    parts: list[tuple[str, Callable[[], list[Row]]]] = [
        ("bad-input", lambda: bad_input_rows(workdir)),
        ("faults", lambda: fault_rows(workdir)),
        ("injection", injection_rows),
        ("secrets", lambda: secret_rows(workdir, customers)),
    ]
    rows: list[Row] = []
    try:
        for name, part in parts:
            if name in skip:
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            rows += part()
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"olist-next bench reliability: {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s"
          + (f"; scratch kept in {workdir}" if keep else ""))
    print(f"| {'part':<50} | {'tried':>6} | {'passed':>6} | {'figure':<76} | {'seconds':>7} | ok |")
    print(f"|{'-' * 52}|{'-' * 8}|{'-' * 8}|{'-' * 78}|{'-' * 9}|----|")
    for row in rows:
        tried = "-" if row.tried is None else f"{row.tried:,}"
        passed = "-" if row.passed is None else f"{row.passed:,}"
        print(f"| {row.part:<50} | {tried:>6} | {passed:>6} | {row.figure:<76} | {row.seconds:>7.1f} | "
              f"{'yes' if row.ok else 'NO':>2} |")
    for row in rows:
        for failure in row.failures:
            print(f"{row.part}: {failure}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        child(sys.argv[2])
    else:
        sys.exit(main())
