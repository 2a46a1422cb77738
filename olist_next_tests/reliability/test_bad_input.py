"""Bad input, nothing lost: every broken export of the corpus, at the ingest level and through a
real Dagster materialization of bronze (Delta versions, checks, and the healing rerun).

The corpus (``olist_next_assets.lib.reliability.bad_input.CASES``) is generated from a small
synthetic release; each case knows what must become of every record it writes. Cases on event
tables (weekly partitions: ~113 materialization events per run) are marked slow in Dagster.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from olist_next_assets.lib import ingest
from olist_next_assets.lib.contracts import CONTRACTS
from olist_next_assets.lib.reliability import bad_input
from olist_next_assets.lib.reliability.bad_input import (
    CASES,
    CASES_BY_NAME,
    Baseline,
    CaseResult,
    build_baseline,
    ingest_case,
    run_case,
    summary,
)

IDS = [case.name for case in CASES]


@pytest.fixture(scope="module")
def corpus_landing(tmp_path_factory) -> Path:
    from olist_next_assets.lib.synthetic import generate

    landing = tmp_path_factory.mktemp("corpus_landing")
    generate(landing, customers=300, seed=7)
    return landing


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Baseline:
    """The clean release's bronze lake, built table by table as the cases need them."""
    return build_baseline(tmp_path_factory.mktemp("corpus_baseline"), tables=[])


def test_the_corpus_covers_every_kind_of_bad_input_the_issue_lists():
    kinds = {
        "missing column": "missing_column", "extra column": "extra_column", "renamed column": "renamed_column",
        "wrong types": "wrong_types", "empty file": "empty_file", "header-only file": "header_only",
        "truncated last line": "truncated_last_line", "duplicate keys": "duplicate_keys",
        "invalid UTF-8": "invalid_utf8", "Latin-1 text": "latin1_text",
        "quoted line breaks and embedded quotes": "quoted_line_breaks_and_quotes",
        "timestamps in other formats": "timestamps_other_formats", "timestamps in the future": "future_timestamps",
        "negative prices": "negative_prices", "items without orders": "orphan_items",
        "reviews without orders": "orphan_reviews", "file replaced mid-read": "rewritten_mid_read",
    }
    assert set(kinds.values()) <= set(CASES_BY_NAME)
    assert len(CASES_BY_NAME) == len(CASES)  # names are unique
    for case in CASES:
        assert case.outcome in ("accepted", "quarantined", "fails") and case.table in CONTRACTS
        if case.outcome == "fails":  # a refusal names the file (and line and column where there is one)
            assert case.source_file in case.reasons


def test_broken_files_are_generated_deterministically(corpus_landing):
    for case in CASES:
        clean = (corpus_landing / case.source_file).read_bytes()
        first, _, _ = case.build(clean)
        second, _, _ = case.build(clean)
        assert first == second, case.name
        if case.name not in ("latin1_text", "reordered_columns", "rewritten_mid_read"):
            assert first != clean or case.outcome == "fails", case.name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_broken_file_at_the_ingest_level(case, corpus_landing, tmp_path):
    """The functions the bronze asset calls, in memory: every record in bronze or quarantine as
    the case expects (values compared with the clean file's rows), or a refusal naming the file."""
    result = ingest_case(case, corpus_landing, tmp_path)
    assert result.passed, result.message
    assert result.rows_lost == 0
    if case.outcome == "quarantined":
        assert result.rows_in_quarantine > 0


DAGSTER_CASES = [
    pytest.param(case, id=case.name, marks=[pytest.mark.slow] if CONTRACTS[case.table].partitioned else [])
    for case in CASES
]


@pytest.mark.parametrize("case", DAGSTER_CASES)
def test_broken_file_through_dagster(case, baseline, tmp_path):
    """A real materialization (dg.materialize, the Delta IO manager, every week, the checks):
    success with every bad record quarantined with its reason and every good one in bronze, or a
    failure naming file, line and column with both Delta tables left at their version; then the
    corrected file heals both tables to the clean run's content."""
    result = run_case(case, baseline, tmp_path)
    assert result.passed, result.message
    assert result.rows_lost == 0
    assert result.healed


def test_the_runner_catches_a_silent_drop(corpus_landing, tmp_path, monkeypatch):
    """If malformed records were dropped (as a lenient parser would), the case fails and counts them."""
    salvage = ingest._salvage

    def dropping(data, header):
        return salvage(data, header).filter(pl.col(ingest.MALFORMED).is_null())

    monkeypatch.setattr(ingest, "_salvage", dropping)
    result = ingest_case(CASES_BY_NAME["stray_byte"], corpus_landing, tmp_path)
    assert not result.passed and result.rows_lost == 1
    assert "neither in bronze nor in quarantine" in result.message


def test_the_runner_catches_a_value_changed_on_the_way(corpus_landing, tmp_path, monkeypatch):
    """If undecodable bytes were replaced (polars' utf8-lossy), the row would reach bronze altered."""
    monkeypatch.setattr(ingest, "_decode", lambda data: (data.decode("utf-8", "replace").encode(), "utf-8"))
    result = ingest_case(CASES_BY_NAME["stray_byte"], corpus_landing, tmp_path)
    assert not result.passed
    assert "is not in quarantine" in result.message and "bronze: unexpected" in result.message


def test_the_runner_catches_an_unnoticed_rewrite(corpus_landing, tmp_path, monkeypatch):
    """A reader without the guard would parse half of each version: the case says it must refuse."""

    def unguarded(path):
        chunks = []
        with ingest._open_source(path) as handle:
            while chunk := handle.read(ingest.READ_CHUNK_BYTES):
                chunks.append(chunk)
        data = b"".join(chunks)
        return ingest.SourceSnapshot(path=path, data=data, size=len(data), modified_ns=path.stat().st_mtime_ns)

    monkeypatch.setattr(ingest, "read_snapshot", unguarded)
    result = ingest_case(CASES_BY_NAME["rewritten_mid_read"], corpus_landing, tmp_path)
    assert not result.passed and "should have been refused" in result.message


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_file_changed_while_read_is_refused_naming_it(tmp_path, how):
    path = tmp_path / "olist_sellers_dataset.csv"
    path.write_bytes(b'"seller_id","seller_zip_code_prefix","seller_city","seller_state"\n' + b"s1,01,x,SP\n" * 2000)
    newer = path.read_bytes() + b"s2,02,y,RJ\n"

    class Rewriting:
        def __init__(self, handle):
            self.handle, self.done = handle, False

        def read(self, size=-1):
            chunk = self.handle.read(size)
            if not self.done:
                self.done = True
                if how == "in place":
                    path.write_bytes(newer)
                else:
                    (tmp_path / "next.csv").write_bytes(newer)
                    os.replace(tmp_path / "next.csv", path)
            return chunk

        def fileno(self):
            return self.handle.fileno()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    original = ingest._open_source
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest, "_open_source", lambda p: Rewriting(original(p)))
        patch.setattr(ingest, "READ_CHUNK_BYTES", 1024)
        with pytest.raises(ingest.SourceChanged, match="olist_sellers_dataset.csv: the file changed while"):
            ingest.read_snapshot(path)
    assert ingest.read_snapshot(path).data == newer  # once settled, it reads


def test_a_latin1_export_is_transcoded_but_stray_bytes_in_utf8_are_not(tmp_path):
    header = b'"seller_id","seller_zip_code_prefix","seller_city","seller_state"\n'
    sellers = CONTRACTS["sellers"]
    path = tmp_path / sellers.source_file
    path.write_bytes(header + "s1,01,São Paulo,SP\ns2,02,Maceió,AL\n".encode("latin-1"))
    raw, _ = ingest.read_source(path, sellers)
    assert raw["seller_city"].to_list() == ["São Paulo", "Maceió"]
    # a UTF-8 file (it has a multi-byte sequence) with one Latin-1 byte: that record alone is set aside
    path.write_bytes(header + "s1,01,São Paulo,SP\n".encode() + "s2,02,Maceió,AL\n".encode("latin-1"))
    raw, _ = ingest.read_source(path, sellers)
    assert raw["seller_city"].to_list() == ["São Paulo", None]
    assert raw[ingest.MALFORMED].to_list() == [None, "seller_city: invalid UTF-8 byte(s) 0xF3"]
    assert raw[ingest.RAW_TEXT][1] == "s2,02,Macei\\xf3,AL"


def test_summary_counts_cases_and_rows_lost():
    results = [CaseResult("a", "t", "accepted", True, 3, 3, 0, 0, True, 0.1, "ok"),
               CaseResult("b", "t", "quarantined", False, 3, 1, 1, 1, True, 0.1, "1 lost")]
    assert summary(results) == {"cases_tried": 2, "cases_passed": 1, "rows_lost": 1}


def test_the_bench_entry_point_runs_a_chosen_case(tmp_path):
    results = bad_input.run_corpus(tmp_path, cases=[CASES_BY_NAME["stray_byte"]])
    assert [(r.name, r.passed, r.rows_lost) for r in results] == [("stray_byte", True, 0)], results[0].message


@pytest.mark.parametrize("table", ["orders", "order_items", "order_reviews"])
def test_the_landing_sensor_runs_every_week_for_a_file_it_cannot_scan(table, corpus_landing, tmp_path):
    """The sensor scans a changed export only to find its weeks; one polars cannot read as it is
    (here a record with a bare quote and a byte that is not UTF-8) means every week, and the
    bronze asset then quarantines the bad record, instead of a sensor tick that fails."""
    from olist_next_assets.lib.landing import affected_weeks

    name = CONTRACTS[table].source_file
    clean = (corpus_landing / name).read_bytes()
    (tmp_path / name).write_bytes(clean.replace(b"\n", b'\nx"y,\xff,\n', 1))
    orders_weeks = pl.DataFrame({"order_id": ["o"], "week": [None]}, schema={"order_id": pl.String, "week": pl.Date})
    with pytest.raises(pl.exceptions.PolarsError):
        pl.scan_csv(tmp_path / name, infer_schema=False).collect()
    assert affected_weeks({name: tmp_path / name}, orders_weeks) is None
    (tmp_path / name).write_bytes(clean)
    assert affected_weeks({name: tmp_path / name}, orders_weeks) is not None
