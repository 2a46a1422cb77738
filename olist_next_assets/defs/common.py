"""Small helpers shared by the domain asset modules."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg
import polars as pl

from olist_next_assets.defs.partitions import weekly_partitions
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.engine import LakeFrame, is_spark
from olist_next_assets.lib.previews import markdown_preview

OWNERS = ["team:data-engineering"]
KINDS = {"polars", "delta"}


def output_metadata(frame: pl.DataFrame, **extra: Any) -> dict[str, Any]:
    return {"rows": frame.height, "preview": dg.MetadataValue.md(markdown_preview(frame)), **extra}


def upstream(key: list[str], *, all_weeks: bool = False, columns: list[str] | None = None,
             engine: bool = False) -> dg.AssetIn:
    """An input loaded lazily from Delta; ``all_weeks`` reads every week, not just the run's.

    ``engine``: the input of a heavy transform, loaded as a Spark DataFrame when the engine is
    spark (:data:`LakeFrame`); otherwise always a lazy polars frame.
    """
    metadata = {"columns": columns} if columns else None
    return dg.AssetIn(
        key=dg.AssetKey(key),
        partition_mapping=dg.AllPartitionMapping() if all_weeks else None,
        metadata=metadata,
        dagster_type=LakeFrame if engine else pl.LazyFrame,
    )


def engine_output(frame: Any, extra: Callable[[pl.DataFrame], dict[str, Any]] | None = None) -> dg.Output:
    """The output of a heavy transform: a polars frame is collected and described (rows, preview,
    ``extra``); a Spark plan goes to the IO manager as it is (rows and preview come from the Delta
    table once written, so the plan runs once)."""
    if is_spark(frame):
        return dg.Output(frame, metadata={"engine": "spark"})
    collected = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return dg.Output(collected, metadata={"engine": "polars", **output_metadata(collected, **(extra(collected) if extra else {}))})


def week_keys(context: dg.AssetExecutionContext) -> list[str]:
    return weekly_partitions.get_partition_keys_in_range(context.partition_key_range)


def week_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The run's weeks (Monday dates), in order."""
    return [dt.date.fromisoformat(key) for key in week_keys(context)]


def delta_asset(key: list[str], *, weekly: bool, metadata: dict[str, Any] | None = None,
                extra_kinds: set[str] | None = None, **kwargs: Any):
    """``@dg.asset`` for a Delta table written by the IO manager: group = first key part,
    weekly partitions with single-run backfills when ``weekly``, team ownership and kinds."""
    return dg.asset(
        key=key,
        group_name=key[0],
        io_manager_key="delta_io_manager",
        partitions_def=weekly_partitions if weekly else None,
        backfill_policy=dg.BackfillPolicy.single_run() if weekly else None,
        metadata={**({"partition_expr": WEEK_COLUMN} if weekly else {}), **(metadata or {})},
        owners=OWNERS,
        kinds=KINDS | (extra_kinds or set()),
        **kwargs,
    )
