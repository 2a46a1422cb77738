"""Source CSV -> (bronze rows, quarantine rows), driven by a :class:`Contract`. Pure polars.

Rules, in order:
1. Every column is read as text, so no value is lost to type inference. Columns the contract
   does not know are kept in ``_rescued_data`` (a JSON object per row); a contract column
   missing from the file is a :class:`ContractViolation` that names file and column.
2. Each contract column is cast to its type; a value that does not parse, a missing required
   value, or a value out of bounds gives the row a quarantine reason naming the column.
3. The row is placed in a week (Monday, UTC): by its own timestamp, or by the purchase week
   of its order. A row with no week (orphan order, unparsable timestamp, week outside the
   partition window) is quarantined with ``week = null`` ("unplaced").
4. Among valid rows, the first occurrence of a primary key wins; repeats are quarantined.

Every record ends in exactly one of: bronze in the window, bronze in another week, or quarantine.
The quarantine always holds every rejected record of the file (whatever the window), so it is
replaced as a whole and mirrors the current source; :class:`IngestResult` counts each outcome so
the reconciliation check can prove that nothing was lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from olist_next_assets.lib.contracts import (
    RESCUED_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    TIMESTAMP,
    WEEK_COLUMN,
    Contract,
    Placement,
)

REASON = "reason"
TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
QUARANTINE_SCHEMA = pl.Schema(
    {
        WEEK_COLUMN: pl.Date(),
        "source_table": pl.String(),
        "source_file": pl.String(),
        "source_line": pl.Int64(),
        "reason": pl.String(),
        "raw_record": pl.String(),
    }
)


class ContractViolation(ValueError):
    """The file as a whole breaks the contract (e.g. a required column is missing)."""


@dataclass(frozen=True)
class SourceHeader:
    columns: list[str]
    extra: list[str]
    missing: list[str]


@dataclass(frozen=True)
class IngestResult:
    bronze: pl.DataFrame
    quarantine: pl.DataFrame
    header: SourceHeader
    source_records: int
    bronze_in_window: int
    bronze_other_weeks: int
    quarantined: int
    quarantined_unplaced: int

    @property
    def accounted(self) -> int:
        return self.bronze_in_window + self.bronze_other_weeks + self.quarantined

    def reasons(self) -> dict[str, int]:
        """Quarantine counts by reason kind (the text before the first colon)."""
        if self.quarantine.is_empty():
            return {}
        kinds = self.quarantine.select(pl.col("reason").str.split(";").list.first().str.extract(r"^\s*([^:]+)"))
        return dict(sorted(kinds.to_series().value_counts().iter_rows(), key=lambda r: -r[1]))


def read_header(path: Path) -> list[str]:
    """The header row as the csv module parses it (handles a UTF-8 BOM and quoted names)."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise ContractViolation(f"{path.name}: the file is empty (no header row).")
    return [name.strip() for name in next(csv.reader(io.StringIO(first)))]


def check_header(path: Path, contract: Contract) -> SourceHeader:
    columns = read_header(path)
    known = set(contract.column_names)
    missing = [c for c in contract.column_names if c not in columns]
    extra = [c for c in columns if c not in known]
    return SourceHeader(columns=columns, extra=extra, missing=missing)


def read_source(path: Path, contract: Contract) -> tuple[pl.DataFrame, SourceHeader]:
    """All records of a source file as text; a missing contract column is a ContractViolation."""
    header = check_header(path, contract)
    if header.missing:
        raise ContractViolation(
            f"{path.name}: column(s) {', '.join(repr(c) for c in header.missing)} required by the "
            f"'{contract.table}' contract are missing (found: {', '.join(header.columns)})."
        )
    return read_records(path, header), header


def read_records(path: Path, header: SourceHeader) -> pl.DataFrame:
    """All records as text, with the physical line on which each starts."""
    raw = pl.read_csv(
        path,
        infer_schema=False,
        new_columns=header.columns,
        encoding="utf8",
        raise_if_empty=False,
    )
    if raw.width != len(header.columns):  # header-only files come back with no columns
        raw = pl.DataFrame(schema={c: pl.String for c in header.columns})
    # A record starts on the line after the previous one ends; quoted fields may span lines.
    breaks = pl.sum_horizontal(
        [pl.col(c).str.count_matches("\n").fill_null(0) for c in header.columns]
    ) if header.columns else pl.lit(0)
    span = breaks.cast(pl.Int64) + 1
    return raw.with_columns((span.cum_sum() - span + 2).alias(SOURCE_LINE_COLUMN))


def _parse(col: str, dtype: pl.DataType) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    if dtype == TIMESTAMP:
        parsed = [
            text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
            for fmt in TIMESTAMP_FORMATS
        ]
        return pl.coalesce(parsed)
    if dtype.is_integer():
        return text.cast(pl.Int64, strict=False).cast(dtype, strict=False)
    if dtype.is_float():
        return text.cast(pl.Float64, strict=False)
    return pl.col(col)


def _errors(contract: Contract) -> list[pl.Expr]:
    """One nullable error message per column (null when the value is fine)."""
    errors = []
    for column in contract.columns:
        raw, typed = pl.col(column.name), pl.col(f"__typed_{column.name}")
        present = raw.is_not_null() & (raw.str.strip_chars() != "")
        shown = raw.str.slice(0, 40)
        unparsable = pl.format("{}: cannot parse '{}' as {}", pl.lit(column.name), shown, pl.lit(str(column.dtype)))
        error = pl.when(present & typed.is_null()).then(unparsable)
        if not column.nullable:
            error = error.when(~present).then(pl.lit(f"{column.name}: required value is missing"))
        if column.min_value is not None:
            error = error.when(typed < column.min_value).then(
                pl.format("{}: {} is below the minimum {}", pl.lit(column.name), shown, pl.lit(column.min_value))
            )
        if column.max_value is not None:
            error = error.when(typed > column.max_value).then(
                pl.format("{}: {} is above the maximum {}", pl.lit(column.name), shown, pl.lit(column.max_value))
            )
        errors.append(error.otherwise(pl.lit(None, pl.String)))
    return errors


def raw_record(columns: list[str]) -> pl.Expr:
    """The record re-serialised as one CSV line (RFC 4180 quoting), for the quarantine table."""
    fields = []
    for c in columns:
        value = pl.col(c)
        needs_quotes = value.str.contains(r'[",\r\n]')
        quoted = pl.format('"{}"', value.str.replace_all('"', '""', literal=True))
        fields.append(pl.when(value.is_null()).then(pl.lit("")).when(needs_quotes).then(quoted).otherwise(value))
    return pl.concat_str(fields, separator=",") if fields else pl.lit("")


def ingest(
    raw: pl.DataFrame,
    header: SourceHeader,
    contract: Contract,
    source_file: str,
    *,
    window: tuple[dt.date, dt.date] | None = None,
    partition_bounds: tuple[dt.date, dt.date] | None = None,
    order_weeks: pl.DataFrame | None = None,
) -> IngestResult:
    """Split source records into bronze and quarantine rows for a partition window.

    ``window`` is the ``[start, end)`` range of week starts being materialized (None: all rows,
    as for an unpartitioned table); ``partition_bounds`` the first and end week of the weekly
    partitions; ``order_weeks`` (order_id, week) of bronze orders, for tables placed by order.
    """
    typed = raw.with_columns(
        [_parse(c.name, c.dtype).alias(f"__typed_{c.name}") for c in contract.columns]
    ).with_columns(pl.concat_str(_errors(contract), separator="; ", ignore_nulls=True).alias(REASON))
    typed = typed.with_columns(pl.when(pl.col(REASON) != "").then(pl.col(REASON)).alias(REASON))
    typed = _place(typed, contract, partition_bounds, order_weeks)
    typed = _flag_duplicates(typed, contract)

    bad = pl.col(REASON).is_not_null()
    if contract.partitioned and window is not None:
        in_window = pl.col(WEEK_COLUMN).is_between(window[0], window[1], closed="left").fill_null(False)
    else:
        in_window = pl.lit(True)
    has_week = pl.col(WEEK_COLUMN).is_not_null() if contract.partitioned else pl.lit(True)

    counts = typed.select(
        bronze_in=(~bad & in_window).sum(),
        bronze_out=(~bad & ~in_window).sum(),
        quarantined=bad.sum(),
        unplaced=(bad & ~has_week).sum(),
    ).row(0, named=True)

    bronze = typed.filter(~bad & in_window).select(_bronze_columns(contract, header, source_file))
    quarantine = typed.filter(bad).select(
        (pl.col(WEEK_COLUMN) if contract.partitioned else pl.lit(None, pl.Date)).alias(WEEK_COLUMN),
        pl.lit(contract.table).alias("source_table"),
        pl.lit(source_file).alias("source_file"),
        pl.col(SOURCE_LINE_COLUMN).alias("source_line"),
        pl.col(REASON).alias("reason"),
        raw_record(header.columns).alias("raw_record"),
    )
    return IngestResult(
        bronze=bronze,
        quarantine=quarantine.cast(dict(QUARANTINE_SCHEMA)),
        header=header,
        source_records=raw.height,
        bronze_in_window=counts["bronze_in"],
        bronze_other_weeks=counts["bronze_out"],
        quarantined=counts["quarantined"],
        quarantined_unplaced=counts["unplaced"],
    )


def _place(
    typed: pl.DataFrame,
    contract: Contract,
    bounds: tuple[dt.date, dt.date] | None,
    order_weeks: pl.DataFrame | None,
) -> pl.DataFrame:
    """Add the ``week`` column; rows that cannot be placed get a reason and a null week."""
    if contract.placement is Placement.NONE:
        return typed
    if contract.placement is Placement.OWN_TIMESTAMP:
        week = pl.col(f"__typed_{contract.week_source}").dt.truncate("1w").dt.date()
        typed = typed.with_columns(week.alias(WEEK_COLUMN))
    else:
        if order_weeks is None:
            raise ValueError(f"{contract.table}: placing rows by order needs the orders' weeks.")
        lookup = order_weeks.select(
            pl.col("order_id").alias("__order"), pl.col(WEEK_COLUMN)
        ).unique("__order", keep="first")
        typed = typed.join(lookup, left_on="order_id", right_on="__order", how="left", maintain_order="left")
        orphan = pl.col(WEEK_COLUMN).is_null() & pl.col("order_id").is_not_null()
        typed = typed.with_columns(
            _add_reason(orphan, pl.format("order_id: '{}' has no order in bronze orders (orphan)", pl.col("order_id")))
        )
    if bounds is not None:
        outside = ~pl.col(WEEK_COLUMN).is_between(bounds[0], bounds[1], closed="left")
        message = pl.format(
            "{}: week {} is outside the partitions [{}, {})",
            pl.lit(contract.week_source),
            pl.col(WEEK_COLUMN),
            pl.lit(str(bounds[0])),
            pl.lit(str(bounds[1])),
        )
        typed = typed.with_columns(_add_reason(outside.fill_null(False), message))
        typed = typed.with_columns(pl.when(outside.fill_null(False)).then(None).otherwise(pl.col(WEEK_COLUMN)).alias(WEEK_COLUMN))
    # A row that failed its contract keeps its week only when the week itself is trustworthy.
    return typed


def _add_reason(condition: pl.Expr, message: pl.Expr) -> pl.Expr:
    combined = pl.concat_str([pl.col(REASON), message], separator="; ", ignore_nulls=True)
    return pl.when(condition).then(combined).otherwise(pl.col(REASON)).alias(REASON)


def _flag_duplicates(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Quarantine repeats of a primary key among valid rows; the first record wins."""
    if not contract.primary_key:
        return typed
    keys = [f"__typed_{k}" for k in contract.primary_key]
    valid = pl.col(REASON).is_null()
    first_line = pl.col(SOURCE_LINE_COLUMN).filter(valid).min().over(keys)
    repeat = valid & (pl.col(SOURCE_LINE_COLUMN) != first_line)
    key_text = pl.concat_str([pl.format("{}={}", pl.lit(k), pl.col(k)) for k in contract.primary_key], separator=", ")
    message = pl.format("duplicate primary key: ({}) first seen at line {}", key_text, first_line)
    return typed.with_columns(_add_reason(repeat.fill_null(False), message))


def _bronze_columns(contract: Contract, header: SourceHeader, source_file: str) -> list[pl.Expr]:
    columns = [pl.col(f"__typed_{c.name}").alias(c.name) for c in contract.columns]
    if contract.partitioned:
        columns.append(pl.col(WEEK_COLUMN))
    if header.extra:
        extras = pl.struct([pl.col(c) for c in header.extra])
        any_value = pl.any_horizontal([pl.col(c).is_not_null() for c in header.extra])
        rescued = pl.when(any_value).then(extras.struct.json_encode())
    else:
        rescued = pl.lit(None, pl.String)
    columns += [
        rescued.cast(pl.String).alias(RESCUED_COLUMN),
        pl.lit(source_file).alias(SOURCE_FILE_COLUMN),
        pl.col(SOURCE_LINE_COLUMN).cast(pl.Int64),
    ]
    return columns
