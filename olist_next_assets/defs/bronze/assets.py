"""Bronze: each Olist export lands in a Delta table, with its quarantine beside it.

One multi-asset per source table (built from its contract) writes two assets through the Delta
IO manager: ``bronze/<table>`` (rows that meet the contract) and ``quarantine/<table>`` (every
rejected record of the current file, with raw record, file, line and reason). Event tables are
partitioned by week and backfill a whole range in one run: the source file is parsed once and
exactly the range is replaced in one Delta transaction. The quarantine is unpartitioned: each
run knows every rejected record of the file, so it replaces the table as a whole (one Dagster
event instead of one per week). After the writes commit, the checks run on the rows read back
from Delta.
"""

from typing import Any

import dagster as dg
import polars as pl

from olist_next_assets.defs.bronze import checks
from olist_next_assets.defs.common import KINDS, OWNERS
from olist_next_assets.defs.partitions import partition_bounds, weekly_partitions
from olist_next_assets.defs.resources import LakeResource, LandingZone
from olist_next_assets.lib.contracts import CONTRACTS, WEEK_COLUMN, Contract, Placement
from olist_next_assets.lib.delta_io import column_schema
from olist_next_assets.lib.engine import ComputeEngine, LakeFrame, is_spark
from olist_next_assets.lib.ingest import (
    QUARANTINE_SCHEMA,
    ContractViolation,
    IngestResult,
    SourceChanged,
    ingest,
    parse_records,
    read_checked,
)
from olist_next_assets.lib.previews import markdown_preview


def bronze_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", table])


def quarantine_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", table])


def _upstream(contract: Contract) -> dict[str, tuple[str, list[str]]]:
    """Upstream bronze tables this one reads: input name -> (table, columns)."""
    needed: dict[str, list[str]] = {}
    if contract.placement is Placement.PARENT_ORDER:
        needed.setdefault("orders", []).extend(["order_id", WEEK_COLUMN])
    for ref in contract.references:
        needed.setdefault(ref.table, []).append(ref.target_column)
    return {f"upstream_{table}": (table, sorted(set(cols))) for table, cols in needed.items()}


def _asset_in(contract: Contract, table: str, columns: list[str]) -> dg.AssetIn:
    upstream = CONTRACTS[table]
    mapping = dg.AllPartitionMapping() if contract.partitioned and upstream.partitioned else None
    return dg.AssetIn(
        key=bronze_key(table),
        metadata={"columns": columns},
        partition_mapping=mapping,
        dagster_type=LakeFrame,
    )


def _out_metadata(schema: pl.Schema, partitioned: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"dagster/column_schema": column_schema(schema)}
    if partitioned:
        metadata["partition_expr"] = WEEK_COLUMN
    return metadata


def build_bronze_asset(contract: Contract) -> dg.AssetsDefinition:
    table = contract.table
    upstream = _upstream(contract)
    kinds = KINDS | {"spark"}

    @dg.multi_asset(
        name=f"bronze_{table}",
        group_name="bronze",
        outs={
            "rows": dg.AssetOut.from_spec(
                dg.AssetSpec(
                    bronze_key(table),
                    description=f"{contract.description} Source: {contract.source_file}. "
                    + (f"Partitioned by {contract.placement.value} (Monday, UTC)." if contract.partitioned
                       else "Unpartitioned."),
                    metadata=_out_metadata(contract.bronze_schema(), contract.partitioned),
                    partitions_def=weekly_partitions if contract.partitioned else None,
                    owners=OWNERS,
                    kinds=kinds,
                    tags={"layer": "bronze"},
                ),
                io_manager_key="delta_io_manager",
                dagster_type=LakeFrame,  # polars or Spark, by engine
            ),
            "quarantine": dg.AssetOut.from_spec(
                dg.AssetSpec(
                    quarantine_key(table),
                    description=f"Every record of {contract.source_file} that broke the contract, with the raw "
                    "record, file, line and reason; week is null when the record has none.",
                    metadata=_out_metadata(QUARANTINE_SCHEMA, partitioned=False),
                    owners=OWNERS,
                    kinds=kinds,
                    tags={"layer": "quarantine"},
                ),
                io_manager_key="delta_io_manager",
                dagster_type=LakeFrame,  # polars or Spark, by engine
            ),
        },
        ins={name: _asset_in(contract, t, cols) for name, (t, cols) in upstream.items()},
        backfill_policy=dg.BackfillPolicy.single_run() if contract.partitioned else None,
        check_specs=checks.check_specs(contract, bronze_key(table)),
        description=f"Ingest {contract.source_file} under its data contract.",
    )
    def _bronze(context: dg.AssetExecutionContext, landing: LandingZone, lake: LakeResource, compute: ComputeEngine,
                **inputs: Any):
        yield from materialize_bronze(context, contract, landing, lake, compute, inputs)

    return _bronze


def _previous_source_columns(context: dg.AssetExecutionContext, key: dg.AssetKey) -> list[str] | None:
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("source_columns")
    return list(value.value) if value is not None else None


def materialize_bronze(
    context: dg.AssetExecutionContext,
    contract: Contract,
    landing: LandingZone,
    lake: LakeResource,
    compute: ComputeEngine,
    inputs: dict[str, Any],
):
    key = bronze_key(contract.table)
    path = landing.path(contract.source_file)
    previous_columns = _previous_source_columns(context, key)
    try:
        # One read, checked as a whole (header, columns, records; unchanged while read).
        snapshot, header = read_checked(path, contract)
    except SourceChanged as error:
        raise dg.Failure(description=f"{error} Nothing was written.") from error
    except ContractViolation as error:
        if error.header is not None:
            yield checks.source_schema_drift(contract, error.header, previous_columns)
        raise dg.Failure(description=f"{error} Nothing was written.") from error

    window = None
    if contract.partitioned:
        time_window = context.partition_time_window
        window = (time_window.start.date(), time_window.end.date())
    order_weeks = inputs["upstream_orders"] if contract.placement is Placement.PARENT_ORDER else None
    bounds = partition_bounds() if contract.partitioned else None
    metadata: dict[str, Any] = {}
    try:
        if compute.is_spark:  # the same rules on Spark (lib/spark/ingest.py), from the same checked read
            from olist_next_assets.lib.spark import ingest as spark_ingest

            parsed = spark_ingest.parse_records(compute.spark.session(), snapshot, header)
        else:
            parsed = parse_records(snapshot, header)
    except ContractViolation as error:
        raise dg.Failure(description=f"{path.name}: {error}; nothing was written.") from error
    metadata["source_encoding"] = parsed.encoding
    if compute.is_spark:
        result = spark_ingest.ingest(compute.spark.session(), parsed.records, header, contract, path.name,
                                     window=window, partition_bounds=bounds, order_weeks=order_weeks,
                                     written_at=snapshot.written_at)
    else:
        result = ingest(parsed.records, header, contract, path.name, window=window, partition_bounds=bounds,
                        order_weeks=order_weeks.collect() if order_weeks is not None else None,
                        written_at=snapshot.written_at)

    metadata = {**_bronze_metadata(result, header.columns), **metadata}
    yield dg.Output(result.bronze, output_name="rows", metadata=metadata)
    yield dg.Output(result.quarantine, output_name="quarantine", metadata=_quarantine_metadata(result))

    # The IO manager has committed both outputs: check what is actually in Delta now.
    written = lake.read(key, window)
    quarantined = lake.read(quarantine_key(contract.table))
    yield checks.contract_conformance(contract, written)
    yield checks.row_reconciliation(result, written.height, quarantined.height)
    yield checks.source_schema_drift(contract, header, previous_columns)
    if contract.primary_key:
        yield checks.primary_key_unique(contract, written)
    if contract.references:
        yield checks.referential_integrity(_orphans(contract, written, lake))


def _orphans(contract: Contract, written: pl.DataFrame, lake: LakeResource) -> dict[str, tuple[int, int]]:
    """References checked on what is in Delta now (whichever engine wrote it)."""
    found = {}
    for ref in contract.references:
        targets = lake.scan(bronze_key(ref.table)).select(pl.col(ref.target_column).unique()).collect()
        values = written.select(pl.col(ref.column)).drop_nulls()
        missing = values.join(targets, left_on=ref.column, right_on=ref.target_column, how="anti").height
        found[f"{ref.column} -> {ref.table}"] = (values.height, missing)
    return found


def _head(frame: Any, rows: int = 5) -> pl.DataFrame:
    """The first rows of a polars or Spark frame, for a preview."""
    return pl.from_arrow(frame.limit(rows).toArrow()) if is_spark(frame) else frame.head(rows)


def _bronze_metadata(result: IngestResult, source_columns: list[str]) -> dict[str, Any]:
    return {
        "source_columns": dg.MetadataValue.json(source_columns),
        "source_records": result.source_records,
        "rows_written": result.bronze_in_window,
        "rows_quarantined": result.quarantined,
        "rescued_columns": dg.MetadataValue.json(result.header.extra),
        "preview": dg.MetadataValue.md(markdown_preview(_head(result.bronze))),
    }


def _quarantine_metadata(result: IngestResult) -> dict[str, Any]:
    return {
        "rows_quarantined": result.quarantined,
        "unplaced_rows": result.quarantined_unplaced,
        "reasons": dg.MetadataValue.json(result.reasons()),
        "preview": dg.MetadataValue.md(markdown_preview(_head(result.quarantine.select("source_line", "reason", "raw_record")))),
    }


bronze_assets = [build_bronze_asset(contract) for contract in CONTRACTS.values()]
bronze_table_keys = [bronze_key(table) for table in CONTRACTS]
