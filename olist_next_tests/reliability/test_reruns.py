"""Reruns and concurrency: idempotent reruns of every table, two writers of the same week, a writer
killed or interrupted mid-write, the instance's queue, and rolling a table back through its Delta
history."""


import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from olist_next_assets.lib import delta_io
from olist_next_assets.lib.contracts import CONTRACTS
from olist_next_assets.lib.delta_io import FrameStream, WeeklyDeltaPolarsIOManager
from olist_next_assets.lib.reliability.bad_input import Baseline, build_baseline, lake_resources
from olist_next_tests.conftest import MODEL_CONFIG, range_tags

PROJECT = Path(__file__).resolve().parents[2]


def delta_tables(lake: Path) -> list[str]:
    """Every Delta table under the lake, as ``layer/table``."""
    return sorted(str(log.parent.relative_to(lake)) for log in lake.glob("*/*/_delta_log"))


def content(path: Path) -> pl.DataFrame:
    frame = pl.read_delta(str(path))
    return frame.sort(frame.columns, nulls_last=True)


# -- rerunning any range of any asset -------------------------------------------------------------


@pytest.fixture(scope="module")
def built_copy(built_graph, tmp_path_factory):
    """A private copy of the whole built graph (lake, MLflow store, e-mail cache), so reruns here
    never touch the lake other end-to-end tests read."""
    lake, landing, _, _, _ = built_graph
    root = tmp_path_factory.mktemp("rerun")
    for suffix in ("", "_mlflow.db", "_mlflow_artifacts", "_llm_cache"):
        source = lake.parent / (lake.name + suffix)
        target = root / ("lake" + suffix)
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.exists():
            shutil.copy2(source, target)
    return root / "lake", landing


@pytest.mark.slow
def test_rerunning_a_week_range_of_the_whole_graph_leaves_every_table_identical(built_copy):
    """Every Delta table (bronze, quarantine, silver, gold, ml, outreach) has the same rows after
    the whole graph is rerun for a range of weeks in the middle of the history and its last week."""
    from olist_next_tests.test_pipeline import run_graph

    lake, landing = built_copy
    tables = delta_tables(lake)
    assert {"bronze/orders", "quarantine/orders", "silver/orders", "gold/customer_360", "ml/churn_scores",
            "outreach/retention_emails"} <= set(tables)
    before = {table: content(lake / table) for table in tables}
    versions = {table: DeltaTable(str(lake / table)).version() for table in tables}

    instance = dg.DagsterInstance.ephemeral()
    for first, last in (("2017-11-20", "2017-12-04"), ("2018-10-15", "2018-10-15")):
        assert run_graph(lake, landing, instance, first, last, run_config=MODEL_CONFIG).success

    assert delta_tables(lake) == tables
    changed = [table for table in tables if not content(lake / table).equals(before[table])]
    assert changed == []
    rewritten = [table for table in tables if DeltaTable(str(lake / table)).version() > versions[table]]
    assert {"bronze/orders", "silver/orders", "gold/customer_360", "ml/churn_scores"} <= set(rewritten)


# -- two runs writing the same week at the same time ---------------------------------------------------


@pytest.fixture(scope="module")
def small_bronze(tmp_path_factory) -> Baseline:
    """Bronze customers and orders of a 300-customer release."""
    return build_baseline(tmp_path_factory.mktemp("concurrency"), tables=["orders"])


def _orders_landing(baseline: Baseline, root: Path, week: dt.date, status: str | None) -> Path:
    """A copy of the landing zone, where (when ``status`` is given) every order of ``week`` has it."""
    landing = root / f"landing_{status or 'clean'}"
    shutil.copytree(baseline.landing, landing, ignore=shutil.ignore_patterns("_synthetic"))
    if status is not None:
        path = landing / CONTRACTS["orders"].source_file
        orders = pl.read_csv(path, infer_schema=False)
        stamp = pl.col("order_purchase_timestamp").str.to_datetime().dt.truncate("1w").dt.date()
        orders.with_columns(pl.when(stamp == week).then(pl.lit(status)).otherwise("order_status")
                            .alias("order_status")).write_csv(path)
    return landing


def _materialize_week(lake: Path, landing: Path, week: dt.date) -> tuple[bool, str]:
    """A real materialization of bronze/orders (and its quarantine) for one week, on its own
    instance: (success, failure message)."""
    from olist_next_assets.defs import bronze

    keys = [dg.AssetKey(["bronze", "orders"]), dg.AssetKey(["quarantine", "orders"])]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([*bronze.defs.assets, *bronze.defs.asset_checks], selection=keys,
                                partition_key=week.isoformat(), resources=lake_resources(lake, landing),
                                instance=instance, raise_on_error=False)
        failures = result.get_step_failure_events()
        error, chain = (failures[0].step_failure_data.error if failures else None), []
        while error is not None:  # the IO manager's error and what caused it
            chain.append(f"{error.cls_name}: {error.message.strip()}")
            error = error.cause
        return result.success, " <- ".join(chain)


def test_two_runs_writing_the_same_week_at_once_one_commits_the_other_fails_cleanly(small_bronze, tmp_path,
                                                                                      monkeypatch):
    """Two real materializations of bronze/orders for one week, in two threads, each with its own
    version of the export. Both start their Delta write from the same table version (a barrier in
    the frames they stream holds each until the other has begun: the worst case of a race). Delta's
    optimistic concurrency lets exactly one commit; the other fails with CommitFailedError and
    writes nothing. The week then holds one writer's rows exactly once, the other weeks are
    untouched, and the loser's retry (what dagster.yaml's run_retries does) commits its version."""
    lake = tmp_path / "lake"
    shutil.copytree(small_bronze.lake, lake)
    table = lake / "bronze" / "orders"
    orders = pl.read_delta(str(table))
    week = orders.group_by("week").len().sort("len", descending=True)["week"][0]  # the busiest week
    landings = {status: _orders_landing(small_bronze, tmp_path, week, status) for status in ("canceled", "unavailable")}
    version = DeltaTable(str(table)).version()

    barrier = threading.Barrier(2, timeout=60)
    real_stream = delta_io.arrow_stream

    def racing_stream(schema, frames, rows):
        def gated():
            barrier.wait()  # both writers have loaded the table's current version by now
            yield from frames

        racing = "order_purchase_timestamp" in schema and threading.current_thread().name.startswith("writer")
        return real_stream(schema, gated() if racing else frames, rows)

    monkeypatch.setattr(delta_io, "arrow_stream", racing_stream)
    outcomes: dict[str, tuple[bool, str]] = {}
    threads = [threading.Thread(target=lambda s=status: outcomes.__setitem__(s, _materialize_week(lake, landings[s], week)),
                                name=f"writer-{status}") for status in landings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(ok for ok, _ in outcomes.values()) == [False, True], outcomes
    winner = next(s for s, (ok, _) in outcomes.items() if ok)
    loser = next(s for s, (ok, _) in outcomes.items() if not ok)
    assert "CommitFailedError" in outcomes[loser][1] and "concurrent" in outcomes[loser][1], outcomes[loser][1]

    after = pl.read_delta(str(table))
    assert DeltaTable(str(table)).version() == version + 1  # one commit, the winner's
    this_week = after.filter(pl.col("week") == week)
    assert this_week["order_status"].unique().to_list() == [winner]  # one writer's rows, none of the other's
    assert this_week["order_id"].is_unique().all()
    assert this_week.height == orders.filter(pl.col("week") == week).height  # nothing duplicated, nothing lost
    assert content_without(after, week).equals(content_without(orders, week))  # other weeks untouched

    monkeypatch.setattr(delta_io, "arrow_stream", real_stream)
    assert _materialize_week(lake, landings[loser], week)[0]  # the retry
    retried = pl.read_delta(str(table)).filter(pl.col("week") == week)
    assert retried["order_status"].unique().to_list() == [loser] and retried.height == this_week.height


def content_without(frame: pl.DataFrame, week: dt.date) -> pl.DataFrame:
    rest = frame.filter(pl.col("week") != week)
    return rest.sort(rest.columns, nulls_last=True)


def test_the_instance_queues_a_second_lake_writer_until_the_first_finishes(tmp_path):
    """dagster_home/dagster.yaml: runs tagged olist/writes=lake go one at a time through the run
    queue (Dagster's own dequeue decision, on an instance loaded from the project's file), and
    every job that writes the lake carries the tag."""
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.test_utils import create_run_for_test
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from olist_next_assets.definitions import defs
    from olist_next_assets.defs.jobs import WRITES_LAKE

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with _instance_from(home) as instance:
        config = instance.get_concurrency_config()
        assert {"key": "olist/writes", "limit": 1} in [dict(limit) for limit in config.run_queue_config.tag_concurrency_limits]
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)

        def run(job: str, status: dg.DagsterRunStatus, tags: dict[str, str]):
            repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("olist_next"), "__repository__")
            return create_run_for_test(instance, job_name=job, status=status, tags=tags,
                                       remote_job_origin=RemoteJobOrigin(repository, job))

        running = run("olist_next_job", dg.DagsterRunStatus.STARTED, WRITES_LAKE)
        second = run("bronze_job", dg.DagsterRunStatus.QUEUED, WRITES_LAKE)
        reader = run("tuning_job", dg.DagsterRunStatus.QUEUED, {})
        ready = {run.run_id for run in daemon._get_runs_to_dequeue(instance, config, None)}
        assert second.run_id not in ready  # waits for the running lake writer
        assert reader.run_id in ready  # a run without the tag is not held back by it

        instance.report_run_canceled(running)  # the first writer is done
        ready = {run.run_id for run in daemon._get_runs_to_dequeue(instance, config, None)}
        assert second.run_id in ready

    writers = {job.name: job.tags for job in defs.resolve_all_job_defs()
               if job.name in ("olist_next_job", "lake_job", "features_job", "bronze_job")}
    assert len(writers) == 4 and all(tags.get("olist/writes") == "lake" for tags in writers.values()), writers


@contextmanager
def _instance_from(home: Path) -> Iterator[dg.DagsterInstance]:
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


# -- a writer killed or interrupted mid-write -------------------------------------------------------

WEEKS = dg.WeeklyPartitionsDefinition(start_date="2018-01-01", end_date="2018-03-05", day_offset=1)


def _week_frames(window: dg.TimeWindow, tag: str) -> list[pl.DataFrame]:
    frames, day = [], window.start.date()
    while day < window.end.date():
        frames.append(pl.DataFrame({"week": [day] * 1000, "n": list(range(1000)), "writer": [tag] * 1000}))
        day += dt.timedelta(days=7)
    return frames


class Writer(dg.Config):
    tag: str = "first"
    fail_after: int = -1  # raise after this many frames (-1: never)


@dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta",
          backfill_policy=dg.BackfillPolicy.single_run())
def weekly(context: dg.AssetExecutionContext, config: Writer) -> FrameStream:
    frames = _week_frames(context.partition_time_window, config.tag)

    def stream():
        for i, frame in enumerate(frames):
            if i == config.fail_after:
                raise RuntimeError("the source went away in the middle of the write")
            yield frame

    return FrameStream(frames[0].schema, stream())


def _write(root: Path, tag: str, fail_after: int = -1) -> dg.ExecuteInProcessResult:
    return dg.materialize([weekly], resources={"delta": WeeklyDeltaPolarsIOManager(root_uri=str(root),
                                                                                     storage_options={"local": {}})},
                          tags=range_tags("2018-01-01", "2018-02-26"), raise_on_error=False,
                          run_config={"ops": {"weekly": {"config": {"tag": tag, "fail_after": fail_after}}}})


def test_a_write_interrupted_by_an_exception_leaves_the_previous_version(tmp_path):
    assert _write(tmp_path, "first").success
    table = tmp_path / "public" / "weekly"
    before, version = content(table), DeltaTable(str(table)).version()
    result = _write(tmp_path, "second", fail_after=4)  # four of nine weeks streamed into the writer, then an error
    assert not result.success
    assert "the source went away" in str(result.get_step_failure_events()[0].step_failure_data.error)
    assert DeltaTable(str(table)).version() == version
    assert content(table).equals(before)
    assert _write(tmp_path, "second").success  # the next run writes normally
    assert content(table)["writer"].unique().to_list() == ["second"]


KILLED_WRITER = textwrap.dedent('''
    import datetime as dt, sys, time
    from pathlib import Path
    import dagster as dg
    import polars as pl
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from olist_next_assets.lib.delta_io import FrameStream, WeeklyDeltaPolarsIOManager

    root, marker = Path(sys.argv[1]), Path(sys.argv[2])
    WEEKS = dg.WeeklyPartitionsDefinition(start_date="2018-01-01", end_date="2018-03-05", day_offset=1)

    @dg.asset(partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta",
              backfill_policy=dg.BackfillPolicy.single_run())
    def weekly(context: dg.AssetExecutionContext) -> FrameStream:
        window = context.partition_time_window
        weeks = [window.start.date() + dt.timedelta(weeks=i) for i in range((window.end - window.start).days // 7)]
        frames = [pl.DataFrame({"week": [w] * 1000, "n": list(range(1000)), "writer": ["killed"] * 1000})
                  for w in weeks]

        def stream():
            for i, frame in enumerate(frames):
                if i == 4:
                    marker.write_text("mid-write")  # four weeks are in the writer's hands
                    time.sleep(600)
                yield frame

        return FrameStream(frames[0].schema, stream())

    dg.materialize([weekly], resources={"delta": WeeklyDeltaPolarsIOManager(root_uri=str(root),
                                                                            storage_options={"local": {}})},
                   tags={ASSET_PARTITION_RANGE_START_TAG: "2018-01-01", ASSET_PARTITION_RANGE_END_TAG: "2018-02-26"})
''')


def test_a_run_killed_mid_write_leaves_the_previous_version_readable(tmp_path):
    """A real materialization in another process, SIGKILLed while its Delta write is under way:
    the table is still at its previous version with its previous rows (at most some unreferenced
    data files are left, which VACUUM removes), and the next write commits normally."""
    assert _write(tmp_path, "first").success
    table = tmp_path / "public" / "weekly"
    before, version = content(table), DeltaTable(str(table)).version()
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path), str(marker)], cwd=PROJECT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer never reached the middle of its write"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert DeltaTable(str(table)).version() == version
    assert content(table).equals(before)
    assert _write(tmp_path, "after").success
    assert DeltaTable(str(table)).version() == version + 1
    assert content(table)["writer"].unique().to_list() == ["after"]


# -- rolling a table back -------------------------------------------------------------------------------


def test_delta_history_keeps_every_version_and_a_table_rolls_back_to_one(small_bronze, tmp_path):
    """Each materialization is a Delta version that names its Dagster run; time travel reads any
    version, and ``DeltaTable.restore`` rolls the table back (as a new version) to the one before
    a bad run. The next materialization carries on from there."""
    from olist_next_assets.lib.reliability.bad_input import materialize_bronze_tables

    lake, landing = tmp_path / "lake", tmp_path / "landing"
    shutil.copytree(small_bronze.lake, lake)
    shutil.copytree(small_bronze.landing, landing, ignore=shutil.ignore_patterns("_synthetic"))
    table = str(lake / "bronze" / "customers")
    good_version, good = DeltaTable(table).version(), content(Path(table))

    path = landing / CONTRACTS["customers"].source_file
    clean = path.read_bytes()
    path.write_bytes(clean.replace(b"sao paulo", b"SAO PAULO"))  # a bad export that passes every check
    bad_run = materialize_bronze_tables(lake, landing, dg.DagsterInstance.ephemeral(), ["customers"])
    assert bad_run.success and not content(Path(table)).equals(good)

    history = DeltaTable(table).history()
    assert [h["version"] for h in history][:2] == [good_version + 1, good_version]
    bad_version = next(h["version"] for h in history if h.get("dagster_run_id") == bad_run.run_id)
    assert pl.read_delta(table, version=bad_version - 1).sort(good.columns, nulls_last=True).equals(good)

    DeltaTable(table).restore(bad_version - 1)
    assert DeltaTable(table).version() == bad_version + 1  # the rollback is itself a new version
    assert content(Path(table)).equals(good)
    assert DeltaTable(table).history()[0]["operation"] == "RESTORE"

    path.write_bytes(clean)
    assert materialize_bronze_tables(lake, landing, dg.DagsterInstance.ephemeral(), ["customers"]).success
    assert content(Path(table)).equals(good)
