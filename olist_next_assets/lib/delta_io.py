"""Delta Lake IO manager for polars frames, with correct weekly-range semantics.

Built on the official ``dagster-deltalake-polars`` IO manager. Its 0.29.x handler (with
deltalake 1.x) turns a partition *range* into ``week = <first week>``: reading several weekly
partitions silently returns only the first one, and a single-run backfill over an existing table
fails Delta's replace-where validation. It also loses table statistics. We keep the official
IO manager (config, storage options, table layout ``<root>/<schema>/<table>``) and replace only
the type handler's range logic:

* writes replace exactly ``[start, end)`` of the partition column in one Delta transaction
  (``predicate`` = replaceWhere), so reruns and backfills never duplicate rows;
* reads filter ``[start, end)``, so a range returns every week in it;
* the partition column must be a ``Date`` holding the week start (strings would overwrite the
  whole table, timestamps fail on load): we check it and fail with a clear message;
* an output may be a :class:`FrameStream` (frames written one after another in one
  transaction), so a long backfill never holds its whole output twice in memory;
* every write records row count, column schema, URI and Delta version as metadata;
* partitioned writes close files at 8 MB, so a long backfill's open partitions stay small in memory.

``dagster-delta`` 0.5.9 fixes the same problems but pins polars < 2 through its extra and sets
the root logger to DEBUG on every call; a small subclass of the official handler is less risk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from dagster import InputContext, MetadataValue, OutputContext, TableColumn, TableSchema
from dagster._core.definitions.partitions.utils import TimeWindow
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_deltalake.io_manager import TableConnection
from dagster_deltalake_polars import DeltaLakePolarsIOManager
from dagster_deltalake_polars.deltalake_polars_type_handler import DeltaLakePolarsTypeHandler
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError


@dataclass(frozen=True)
class FrameStream:
    """Frames with one schema, written one after another in a single Delta transaction.

    For outputs too large to hold twice (all weekly snapshots of a backfill): only one frame
    and the writer's buffers are in memory at a time.
    """

    schema: pl.Schema
    frames: Iterable[pl.DataFrame]


PolarsFrame = pl.DataFrame | pl.LazyFrame | FrameStream
PARTITION_FILE_BYTES = 8 * 2**20
ROW_GROUP_ROWS = 128 * 1024


def week_range_predicate(column: str, start: dt.date, end: dt.date) -> str:
    """SQL predicate (Delta replace-where) selecting ``start <= column < end``."""
    return f"{column} >= '{start.isoformat()}' AND {column} < '{end.isoformat()}'"


def _window(table_slice: TableSlice) -> tuple[str, dt.date, dt.date] | None:
    dims = table_slice.partition_dimensions or []
    if not dims:
        return None
    if len(dims) > 1 or not isinstance(dims[0].partitions, TimeWindow):
        raise NotImplementedError("Only a single time-window partition dimension is supported.")
    window: TimeWindow = dims[0].partitions
    return dims[0].partition_expr, window.start.date(), window.end.date()


def window_filter(column: str, start: dt.date, end: dt.date) -> pl.Expr:
    """Polars twin of :func:`week_range_predicate`."""
    return pl.col(column).is_between(start, end, closed="left").fill_null(False)


class WeeklyDeltaPolarsTypeHandler(DeltaLakePolarsTypeHandler):
    """Polars type handler whose partition ranges cover every week in ``[start, end)``."""

    def handle_output(
        self,
        context: OutputContext,
        table_slice: TableSlice,
        obj: PolarsFrame,
        connection: TableConnection,
    ) -> None:
        stream = obj if isinstance(obj, FrameStream) else FrameStream(
            (frame := obj.collect() if isinstance(obj, pl.LazyFrame) else obj).schema, [frame]
        )
        window = _window(table_slice)
        write_args: dict[str, Any] = {"mode": "overwrite"}
        checked = stream.frames
        if window is not None:
            column, start, end = window
            checked = (_check_partition_column(f, column, start, end, context) for f in stream.frames)
            write_args["partition_by"] = [column]
            # delta-rs keeps one open file per partition until it reaches the target size (100 MB by
            # default): a backfill of 112 weeks at 10x the real data then buffers ~11 GB; 8 MB files bound it.
            write_args["target_file_size"] = PARTITION_FILE_BYTES
            # ...and a row group (encoded in memory until complete) holds at most 128k rows
            write_args["writer_properties"] = WriterProperties(max_row_group_size=ROW_GROUP_ROWS)
            if _table_exists(connection):
                write_args["predicate"] = week_range_predicate(column, start, end)
        rows = [0]
        write_deltalake(
            connection.table_uri,
            arrow_stream(stream.schema, checked, rows),
            storage_options=connection.storage_options,
            configuration=connection.table_config,
            commit_properties=CommitProperties(custom_metadata=commit_metadata(context)),
            **write_args,
        )
        table = DeltaTable(connection.table_uri, storage_options=connection.storage_options)
        context.add_output_metadata(written_metadata(table, connection.table_uri, rows[0], stream.schema))

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pl.DataFrame, pl.LazyFrame, FrameStream]

    def load_input(
        self,
        context: InputContext,
        table_slice: TableSlice,
        connection: TableConnection,
    ) -> PolarsFrame:
        lazy = pl.scan_delta(connection.table_uri, storage_options=connection.storage_options or None)
        window = _window(table_slice)
        if window is not None:
            lazy = lazy.filter(window_filter(*window))
        if table_slice.columns is not None:
            lazy = lazy.select(table_slice.columns)
        return lazy if context.dagster_type.typing_type == pl.LazyFrame else lazy.collect()


def arrow_stream(schema: pl.Schema, frames: Iterable[pl.DataFrame], rows: list[int]) -> pa.RecordBatchReader:
    """One Arrow stream over all frames (cast to ``schema``), counting rows as they pass."""
    arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema

    def batches() -> Iterator[pa.RecordBatch]:
        for frame in frames:
            rows[0] += frame.height
            yield from frame.cast(dict(schema)).select(list(schema)).to_arrow().cast(arrow_schema).to_batches()

    return pa.RecordBatchReader.from_batches(arrow_schema, batches())


def commit_metadata(context: OutputContext) -> dict[str, str]:
    """What every Delta commit records about the run that made it (for history and rollback)."""
    return {"dagster_run_id": context.run_id, "asset": context.asset_key.to_user_string()}


def written_metadata(table: DeltaTable, uri: str, rows: int, schema: pl.Schema) -> dict[str, MetadataValue]:
    """The output metadata of a write, whichever engine made it: rows written, columns, URI,
    the new Delta version and the table's total rows."""
    return {
        "dagster/row_count": MetadataValue.int(rows),
        "dagster/column_schema": column_schema(schema),
        "dagster/uri": MetadataValue.path(uri),
        "delta_version": MetadataValue.int(table.version()),
        "table_rows_total": MetadataValue.int(_count_rows(table)),
    }


def _table_exists(connection: TableConnection) -> bool:
    try:
        DeltaTable(connection.table_uri, storage_options=connection.storage_options)
    except TableNotFoundError:
        return False
    return True


def _count_rows(table: DeltaTable) -> int:
    actions = pa.table(table.get_add_actions(flatten=True))
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def _check_partition_column(
    frame: pl.DataFrame,
    column: str,
    start: dt.date,
    end: dt.date,
    context: OutputContext,
) -> pl.DataFrame:
    """Fail loudly instead of letting Delta reject (or misplace) rows outside the window."""
    name = context.asset_key.to_user_string()
    if column not in frame.columns:
        raise ValueError(f"{name}: partition column '{column}' is missing from the output frame.")
    if frame.schema[column] != pl.Date:
        raise TypeError(
            f"{name}: partition column '{column}' must be pl.Date (the week start), "
            f"got {frame.schema[column]}."
        )
    outside = frame.filter(~window_filter(column, start, end)).height
    if outside:
        raise ValueError(
            f"{name}: {outside} rows have '{column}' outside the partition window "
            f"[{start}, {end}); refusing to write them."
        )
    return frame


def column_schema(schema: pl.Schema) -> MetadataValue:
    """Dagster ``dagster/column_schema`` metadata for a polars schema."""
    return MetadataValue.table_schema(
        TableSchema(columns=[TableColumn(name=name, type=str(dtype)) for name, dtype in schema.items()])
    )


class WeeklyDeltaPolarsIOManager(DeltaLakePolarsIOManager):
    """The official Delta/polars IO manager with :class:`WeeklyDeltaPolarsTypeHandler`."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [WeeklyDeltaPolarsTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pl.DataFrame
