"""The blocking column-schema drift check, in real runs."""

import shutil

import dagster as dg
import polars as pl

from olist_next_assets.defs.schema_checks import CHECK_NAME, build_schema_drift_checks, schema_diff
from olist_next_assets.lib.delta_io import WeeklyDeltaPolarsIOManager
from olist_next_tests.conftest import range_tags

WEEKS = dg.WeeklyPartitionsDefinition(start_date="2018-01-01", end_date="2018-02-05", day_offset=1)


class Shape(dg.Config):
    extra_column: bool = False


@dg.asset(key=["t", "table"], partitions_def=WEEKS, metadata={"partition_expr": "week"}, io_manager_key="delta",
          backfill_policy=dg.BackfillPolicy.single_run())
def table(context: dg.AssetExecutionContext, config: Shape) -> pl.DataFrame:
    frame = pl.DataFrame({"week": [context.partition_time_window.start.date()], "n": [1]})
    return frame.with_columns(pl.lit("x").alias("surprise")) if config.extra_column else frame


@dg.asset(key=["t", "downstream"], deps=[table], partitions_def=WEEKS, backfill_policy=dg.BackfillPolicy.single_run())
def downstream() -> None:
    return None


def test_schema_diff_names_every_change():
    assert schema_diff({"a": "Int64", "b": "String"}, {"a": "Float64", "c": "Date"}) == [
        "column 'b' removed", "column 'c' added (Date)", "column 'a' changed type Int64 -> Float64",
    ]


def test_drift_between_runs_fails_with_the_column_named_and_blocks_downstream(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    checks = build_schema_drift_checks([table.key])
    resources = {"delta": WeeklyDeltaPolarsIOManager(root_uri=str(tmp_path), storage_options={"local": {}})}

    def run(extra: bool) -> dg.ExecuteInProcessResult:
        return dg.materialize([table, downstream, checks], instance=instance, resources=resources,
                              tags=range_tags("2018-01-01", "2018-01-22"), raise_on_error=False,
                              run_config={"ops": {"t__table": {"config": {"extra_column": extra}}}})

    first = run(False)
    assert first.success and all(e.passed for e in first.get_asset_check_evaluations())
    same = run(False)  # four weekly materializations per run: compared with the previous run, not a sibling week
    assert all(e.passed for e in same.get_asset_check_evaluations())

    # Delta itself refuses to replace weeks of a table with a different schema ...
    refused = run(True)
    assert not refused.success
    assert "SchemaMismatchError" in str(refused.get_step_failure_events()[0].step_failure_data.error)
    # ... so drift shows up when a table is rebuilt (dropped, or written by another engine).
    shutil.rmtree(tmp_path / "t" / "table")
    drifted = run(True)
    evaluation = next(e for e in drifted.get_asset_check_evaluations() if e.check_name == CHECK_NAME)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "column 'surprise' added" in evaluation.description
    assert not drifted.asset_materializations_for_node("t__downstream")  # blocked
