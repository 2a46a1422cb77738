"""Spark frames in the lake's Delta tables, with the polars handler's weekly-range semantics.

Same table layout (``<root>/<layer>/<table>``, partitioned by ``week``), same replace-where of
exactly ``[start, end)`` in one Delta transaction, same output metadata; so a table written by
one engine is read and extended by the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
from dagster import InputContext, MetadataValue, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_deltalake.io_manager import TableConnection
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from olist_next_assets.lib.delta_io import (
    _table_exists,
    _window,
    commit_metadata,
    week_range_predicate,
    window_filter,
    written_metadata,
)
from olist_next_assets.lib.previews import markdown_preview


def _written_head(connection: TableConnection, window: tuple[str, Any, Any] | None, rows: int = 5) -> pl.DataFrame:
    """The first rows of what was just written, read back without Spark."""
    frame = pl.scan_delta(connection.table_uri, storage_options=connection.storage_options or None)
    if window is not None:
        frame = frame.filter(window_filter(*window))
    return frame.head(rows).collect()


class WeeklyDeltaSparkTypeHandler(DbTypeHandler[DataFrame]):
    """Reads and writes Spark DataFrames through Delta Lake's Spark integration."""

    def __init__(self, session: Callable[[], Any]):
        self._session = session

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: DataFrame,
                      connection: TableConnection) -> None:
        window = _window(table_slice)
        writer = obj.write.format("delta").mode("overwrite").option(
            "userMetadata", json.dumps({**commit_metadata(context), "engine": "spark"})
        )
        if window is not None:
            column, start, end = window
            kind = dict(obj.dtypes).get(column)
            if kind != "date":
                raise TypeError(f"{context.asset_key.to_user_string()}: partition column '{column}' must be a date "
                                f"(the week start), got {kind}.")
            writer = writer.partitionBy(column)
            if _table_exists(connection):
                # Delta checks every written row against the predicate (replaceWhere constraint check)
                writer = writer.option("replaceWhere", week_range_predicate(column, start, end))
        writer.save(connection.table_uri)
        table = DeltaTable(connection.table_uri, storage_options=connection.storage_options)
        commit = table.history(1)[0]
        written = int((commit.get("operationMetrics") or {}).get("numOutputRows", 0))
        schema = pl.from_arrow(pa.schema(table.schema().to_arrow()).empty_table()).schema
        context.add_output_metadata({
            **written_metadata(table, connection.table_uri, written, schema),
            "engine": "spark",
            "preview": MetadataValue.md(markdown_preview(_written_head(connection, window))),
        })

    def load_input(self, context: InputContext, table_slice: TableSlice, connection: TableConnection) -> DataFrame:
        frame = self._session().read.format("delta").load(connection.table_uri)
        window = _window(table_slice)
        if window is not None:
            column, start, end = window
            frame = frame.where((F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)))
        if table_slice.columns is not None:
            frame = frame.select(*table_slice.columns)
        return frame

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [DataFrame]
