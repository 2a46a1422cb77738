"""Source CSV -> (bronze rows, quarantine rows) on Spark: the twin of :mod:`olist_next_assets.lib.ingest`.

The polars module is the specification (its docstring states the rules); this one applies the
same rules as Spark expressions, with the same column names, order, types and reason texts, so
either engine writes the same bronze and quarantine Delta tables. The parity tests
(``olist_next_tests/spark/test_ingest_parity.py``) run both on the same files.

**The file itself** is checked by the specification's own functions: ``read_snapshot`` (one read,
refused when the file changes meanwhile: Spark's own read is then checked against that
snapshot's size and modification time), ``check_header`` (by the caller) and ``_decode`` (a
Latin-1 export is read as ISO-8859-1). A file whose records Spark's CSV reader could split
differently from polars (broken quoting, a record longer than the header, bytes that are not
UTF-8, a last record cut short, stray carriage returns) is split by the specification's
``parse_records`` on the driver, and its records (good and malformed) go on to the same Spark
plan: :func:`scan_layout` decides, at NumPy speed, and only proves the easy case. Spark reads
the file from its path on the driver (``file://``): on a cluster, the landing zone must be a
file system the executors mount at the same path.

**Reading like polars**, for the files that pass that scan:

* every field is text (explicit all-string schema; ``multiLine`` for quoted line breaks;
  ``escape='"'`` for RFC 4180 doubled quotes). polars reads an unquoted empty field as null and a
  quoted ``""`` as the empty string; Spark makes both null unless ``nullValue`` is something
  else, so it is set to :data:`NULL_SENTINEL`, which no field of a text file holds in practice;
* ``lineSep`` is given (LF or CRLF, from the header line): Spark then keeps a CRLF inside a quoted
  field as it is, as polars does (left to detect it, Spark would turn it into LF);
* a multiLine CSV file is not splittable, so Spark reads it as one partition, in file order:
  ``monotonically_increasing_id`` numbers the records in that order, and a running sum of the
  line breaks in the records before gives the physical line on which each starts, as polars
  computes it. Spark skips blank lines, which polars keeps as all-null records: the scan lists
  them, and the line numbers are shifted and the all-null records added back;
* the parsed records are materialized once (``localCheckpoint``): polars holds the file in memory
  once, while Spark would re-read it for every action (counts, bronze, quarantine).

**Typing** follows polars exactly: values are stripped of Unicode white space (Rust's ``trim``),
integers are ``[+-]digits`` (no ``12.0``, no ``1e3``; out of range is unparsable), floats are
decimal or scientific notation or ``nan``/``inf``/``infinity`` in any case, timestamps are the
polars formats as chrono reads them (one- or two-digit fields, white space allowed before a
number, a leap second :60 rolling into the next minute, fractions truncated to microseconds).
ANSI mode stays on: every cast is a ``try_*`` behind a regular expression.

Residual differences (none arise from the Olist release or the generated data):

* a field whose whole text is :data:`NULL_SENTINEL` reads as null;
* ``order_weeks`` listing one order in several weeks: polars keeps the first row, Spark the
  earliest week (bronze orders have a unique key, so this does not arise).
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from olist_next_assets.lib.contracts import (
    RESCUED_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    TIMESTAMP,
    WEEK_COLUMN,
    Contract,
    Placement,
)
from olist_next_assets.lib.ingest import (
    FUTURE_TOLERANCE,
    MALFORMED,
    RAW_TEXT,
    ContractViolation,
    IngestResult,
    SourceChanged,
    SourceHeader,
    SourceSnapshot,
    _decode,
    read_snapshot,
)
from olist_next_assets.lib.ingest import parse_records as polars_parse_records
from olist_next_assets.lib.spark.arrow import spark_type

NULL_SENTINEL = "\u0000\u0001olist-null\u0001\u0000"
LINE = "__line"
REASON = "__reason"
SCAN_CHUNK_BYTES = 32 << 20

# Rust's char::is_whitespace (Unicode White_Space), what polars' str.strip_chars() removes.
WS = r"[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
INTEGER = r"^[+-]?[0-9]+\z"
DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\z"
NAN, POS_INF, NEG_INF = r"(?i)^[+-]?nan\z", r"(?i)^\+?inf(?:inity)?\z", r"(?i)^-inf(?:inity)?\z"
# lib.ingest.TIMESTAMP_FORMATS as chrono reads them: "%Y-%m-%d %H:%M:%S[%.f]", "%Y-%m-%dT%H:%M:%S",
# "%Y-%m-%d". Fields take one or two digits (possessive: chrono does not backtrack), white space
# may precede a number, and a space in the format matches any white space, or none.
_N = r"([0-9]{1,2}+)"
_CLOCK = rf"{WS}*{_N}:{WS}*{_N}:{WS}*{_N}"
TIMESTAMP_PATTERN = (
    rf"^{WS}*([+-][0-9]++|[0-9]{{1,4}}+)-{WS}*{_N}-{WS}*{_N}(?:{_CLOCK}(?:\.([0-9]+))?|T{_CLOCK})?\z"
)
# Jackson writes \u001F where polars' json_encode writes \u001f: the control characters with letters.
_UPPER_HEX_ESCAPES = ("000B", "000E", "000F", "001A", "001B", "001C", "001D", "001E", "001F")


@dataclass(frozen=True)
class SparkIngestResult(IngestResult):
    """:class:`IngestResult` whose ``bronze`` and ``quarantine`` are Spark DataFrames."""

    def reasons(self) -> dict[str, int]:
        """Quarantine counts by reason kind (the text before the first colon), as IngestResult's."""
        kind = F.regexp_extract(F.split(F.col("reason"), ";").getItem(0), r"^\s*([^:]+)", 1)
        rows = self.quarantine.groupBy(kind.alias("kind")).count().collect()
        return dict(sorted(((r["kind"] or None, r["count"]) for r in rows), key=lambda r: -r[1]))


@dataclass(frozen=True)
class SparkParsedSource:
    records: DataFrame
    encoding: str  # "utf-8", or "latin-1" when the file was read as such
    parser: str  # "spark" (Spark's CSV reader) or "polars" (the specification's, for a broken file)


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Layout:
    """How the records of a well-formed file lie in its lines."""

    line_sep: str  # "\n" or "\r\n", as the header line ends
    records: int  # records after the header, blank lines included
    blank_lines: tuple[int, ...]  # physical lines that are blank records (polars: all-null records)


def scan_layout(data: bytes, width: int, chunk_bytes: int = SCAN_CHUNK_BYTES) -> Layout | None:
    """The layout of ``data`` (UTF-8) when Spark's CSV reader splits it exactly as polars does, else None.

    None when a quote is not where RFC 4180 allows one (opening a field, doubled inside it,
    closing it), a quote is left open, a record has more than ``width`` fields, a CR is not part
    of the header's line separator, or the file ends without a line break inside its last record's
    fields (polars quarantines that one as cut short). The scan works on the positions of quotes,
    commas, CRs and LFs (NumPy, in chunks of whole lines): a character is inside a quoted field
    exactly when an odd number of quotes precede it, once the quotes are known to be well placed.
    """
    start = data.find(b"\n") + 1
    if start == 0:
        return Layout("\n", 0, ())  # a header line alone
    header = data[:start - 1]
    crlf = header.endswith(b"\r")
    if b"\r" in header[:-1] or header.count(b'"') % 2:
        return None
    quotes, lines, open_commas = 0, 1, 0  # lines: line breaks before the chunk (the header's)
    records, last_break, blank = 0, start - 1, []
    step = 2 if crlf else 1
    while start < len(data):
        end = data.rfind(b"\n", start, start + chunk_bytes) + 1 or data.find(b"\n", start + chunk_bytes) + 1 \
            or len(data)
        a = np.frombuffer(data, np.uint8, count=end - start, offset=start)
        q = np.flatnonzero(a == ord('"'))
        opening = (quotes + np.arange(q.size)) % 2 == 0
        before = np.where(q > 0, a[q - 1], ord("\n"))  # a chunk starts after a line break
        after = np.where(q + 1 < a.size, a[np.minimum(q + 1, a.size - 1)], ord(","))  # or at the end of the file
        if not (np.isin(before[opening], (ord(","), ord("\n"), ord('"'))).all()
                and np.isin(after[~opening], (ord(","), ord("\r"), ord("\n"), ord('"'))).all()):
            return None

        breaks = np.flatnonzero(a == ord("\n"))
        record_ends, commas, crs = (_outside(positions, q, quotes) for positions in
                                    (breaks, np.flatnonzero(a == ord(",")), np.flatnonzero(a == ord("\r"))))
        if crlf:
            if crs.size != record_ends.size or not (record_ends > 0).all() or not (a[record_ends - 1] == ord("\r")).all():
                return None
        elif crs.size:
            return None
        per_record = np.diff(np.searchsorted(commas, record_ends), prepend=0)
        if per_record.size:
            per_record[0] += open_commas
            if per_record.max() + 1 > width:
                return None
            open_commas = commas.size - np.searchsorted(commas, record_ends[-1])
            ends = record_ends + start
            empty = np.diff(ends, prepend=last_break) == step
            blank += (lines + np.searchsorted(breaks, record_ends[empty]) + 1).tolist()
            records += record_ends.size
            last_break = int(ends[-1])
        else:
            open_commas += commas.size
        quotes += q.size
        lines += breaks.size
        start = end
    if quotes % 2:
        return None
    if not data.endswith(b"\n"):
        if open_commas + 1 < width:
            return None
        records += 1
    return Layout("\r\n" if crlf else "\n", records, tuple(blank))


def _outside(positions: np.ndarray, quote_positions: np.ndarray, quotes_before: int) -> np.ndarray:
    """The positions that are outside quoted fields: an even number of quotes precede them."""
    return positions[(quotes_before + np.searchsorted(quote_positions, positions)) % 2 == 0]


def parse_records(spark: SparkSession, source: Path | SourceSnapshot, header: SourceHeader) -> SparkParsedSource:
    """All records as text, with the physical line on which each starts (``lib.ingest.parse_records``).

    Same columns as the specification's (the header's, ``_source_line``, then ``__malformed`` and
    ``__raw_text``, null unless the record could not be split into fields), same nulls and empty
    strings, same line numbers.
    """
    snapshot = source if isinstance(source, SourceSnapshot) else read_snapshot(source)
    data, encoding = _decode(snapshot.data)
    layout = scan_layout(data, len(header.columns)) if _is_utf8(data) else None
    if layout is None:
        parsed = polars_parse_records(snapshot, header)
        return SparkParsedSource(_from_polars(spark, parsed.records, header), parsed.encoding, "polars")
    _same_version(snapshot)
    records = _spark_records(spark, snapshot.path, header, layout, "ISO-8859-1" if encoding == "latin-1" else "UTF-8")
    _same_version(snapshot)
    read = records.count()
    if read != layout.records:
        raise ContractViolation(f"{snapshot.path.name}: could not split the file into records (Spark read {read} "
                                f"records where the file has {layout.records}).")
    return SparkParsedSource(records, encoding, "spark")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _same_version(snapshot: SourceSnapshot) -> None:
    """Spark reads the file from its path: it must still be the version of the snapshot."""
    stat = snapshot.path.stat()
    if (stat.st_size, stat.st_mtime_ns) != (snapshot.size, snapshot.modified_ns):
        raise SourceChanged(
            f"{snapshot.path.name}: the file changed while it was being read (size {snapshot.size} -> "
            f"{stat.st_size} bytes, between the snapshot and Spark's read). Rerun once the export is complete "
            "(a drop's _SUCCESS marker says so)."
        )


def _spark_records(spark: SparkSession, path: Path, header: SourceHeader, layout: Layout, encoding: str) -> DataFrame:
    fields = [f"__c{i}" for i in range(len(header.columns))]  # header names may hold dots or differ in case only
    records = (
        spark.read.schema(T.StructType([T.StructField(f, T.StringType()) for f in fields]))
        .options(header=True, enforceSchema=True, multiLine=True, quote='"', escape='"', mode="PERMISSIVE",
                 lineSep=layout.line_sep, nullValue=NULL_SENTINEL, emptyValue="", encoding=encoding)
        .csv(f"file://{path.resolve()}")  # the driver's path (a cluster's executors must see it too)
    )
    # One partition in file order (multiLine files are not splittable): the id is the record's
    # position in the file, and the running sum covers the records before it, as in polars.
    breaks = [F.coalesce(F.length(F.col(f)) - F.length(F.replace(F.col(f), F.lit("\n"), F.lit(""))), F.lit(0))
              for f in fields]
    span = reduce(operator.add, breaks) + 1
    in_file_order = Window.orderBy("__row").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    records = (
        records.withColumn("__row", F.monotonically_increasing_id())
        .withColumn("__span", span)
        .withColumn(LINE, (F.sum("__span").over(in_file_order) - F.col("__span") + 2).cast(T.LongType()))
        .select(*fields, LINE)
    )
    if layout.blank_lines:
        # Spark skipped them: the i-th blank line b_i comes before what Spark numbered b_i - i.
        starts = F.array(*[F.lit(b - i) for i, b in enumerate(layout.blank_lines)])
        records = records.withColumn(LINE, F.col(LINE) + F.size(F.filter(starts, lambda s: s <= F.col(LINE))))
        blanks = spark.createDataFrame([(b,) for b in layout.blank_lines], T.StructType([T.StructField(LINE, T.LongType())]))
        records = records.unionByName(blanks.select(*[F.lit(None).cast(T.StringType()).alias(f) for f in fields], LINE))
    return records.select(
        *[F.col(f).alias(name) for f, name in zip(fields, header.columns)],
        F.col(LINE).alias(SOURCE_LINE_COLUMN),
        F.lit(None).cast(T.StringType()).alias(MALFORMED),
        F.lit(None).cast(T.StringType()).alias(RAW_TEXT),
    ).localCheckpoint(eager=True)


def _from_polars(spark: SparkSession, records: pl.DataFrame, header: SourceHeader) -> DataFrame:
    """The specification's records of a broken file, as a Spark DataFrame of the same columns (via Arrow)."""
    names = [*header.columns, SOURCE_LINE_COLUMN, MALFORMED, RAW_TEXT]
    fields = [f"__c{i}" for i in range(len(names))]
    table = records.select(names).to_arrow().rename_columns(fields)
    table = table.cast(pa.schema([(f, pa.int64() if n == SOURCE_LINE_COLUMN else pa.string())
                                  for f, n in zip(fields, names)]))
    return spark.createDataFrame(table).select(*[F.col(f).alias(n) for f, n in zip(fields, names)])


# ---------------------------------------------------------------------------------------------
# Typing and quarantine reasons (lib.ingest._parse and _errors)


def strip(column: Column) -> Column:
    """polars ``str.strip_chars()``: Unicode white space at both ends."""
    return F.regexp_replace(column, rf"^{WS}+|{WS}+\z", "")


def _typed(df: DataFrame, contract: Contract, raw: dict[str, Column]) -> tuple[DataFrame, dict, dict]:
    """Add each contract column's stripped text and typed value (lib.ingest._parse), null when it
    does not parse. Built in steps, so that Spark computes each regular expression once per value."""
    text = {c.name: f"__text_{i}" for i, c in enumerate(contract.columns)}
    typed = {c.name: f"__typed_{i}" for i, c in enumerate(contract.columns)}
    stamps = [c.name for c in contract.columns if c.dtype == TIMESTAMP]
    df = df.withColumns({text[c.name]: strip(raw[c.name]) for c in contract.columns})
    # A timestamp's fields: year, month, day, hour, minute, second, fraction ("" when absent).
    df = df.withColumns({f"{typed[c]}_fields": F.when(F.col(text[c]).rlike(TIMESTAMP_PATTERN), F.split(
        F.regexp_replace(F.col(text[c]), TIMESTAMP_PATTERN, "$1|$2|$3|$4$8|$5$9|$6$10|$7"), r"\|")) for c in stamps})
    df = df.withColumns({f"{typed[c]}_{part}": value for c in stamps
                         for part, value in _timestamp_parts(F.col(f"{typed[c]}_fields")).items()})
    df = df.withColumns({typed[c.name]: _parse(raw[c.name], F.col(text[c.name]), c.dtype, typed[c.name])
                         for c in contract.columns})
    df = df.drop(*[f"{typed[c]}_{part}" for c in stamps for part in ("fields", "start", "second", "fraction")])
    return df, {n: F.col(c) for n, c in text.items()}, {n: F.col(c) for n, c in typed.items()}


def _timestamp_parts(fields: Column) -> dict[str, Column]:
    def number(index: int) -> Column:
        return F.coalesce(F.nullif(fields.getItem(index), F.lit("")), F.lit("0")).try_cast(T.IntegerType())

    second = number(5)
    start = F.try_make_timestamp_ltz(number(0), number(1), number(2), number(3), number(4),
                                     F.when(second == 60, F.lit(59)).otherwise(second), F.lit("UTC"))
    fraction = F.rpad(F.substring(fields.getItem(6), 1, 6), 6, "0").cast(T.LongType())
    return {"start": start, "second": second, "fraction": fraction}


def _parse(raw: Column, text: Column, dtype: pl.DataType, typed: str) -> Column:
    if dtype == TIMESTAMP:
        # chrono reads a leap second (:60) as one second past :59; fractions are truncated to microseconds.
        start, second, fraction = (F.col(f"{typed}_{part}") for part in ("start", "second", "fraction"))
        leap = F.when(second == 60, F.lit(1_000_000)).otherwise(F.lit(0))
        return F.when(start.isNotNull(), F.timestamp_micros(F.unix_micros(start) + leap + fraction))
    if dtype.is_integer():
        # polars: str -> Int64 (out of range is null) -> the column's type (out of range is null).
        return F.when(text.rlike(INTEGER), text.try_cast(T.LongType())).try_cast(spark_type(dtype))
    if dtype.is_float():
        return (
            F.when(text.rlike(DECIMAL), text.try_cast(T.DoubleType()))
            .when(text.rlike(NAN), F.lit(float("nan")))
            .when(text.rlike(POS_INF), F.lit(float("inf")))
            .when(text.rlike(NEG_INF), F.lit(float("-inf")))
        )
    return raw


def _errors(contract: Contract, raw: dict[str, Column], text: dict[str, Column], typed: dict[str, Column],
            written_at: dt.datetime | None) -> list[Column]:
    """One nullable error message per column (null when the value is fine)."""
    errors = []
    latest = None if written_at is None else written_at + FUTURE_TOLERANCE
    written = None if written_at is None else written_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    for column in contract.columns:
        value, parsed = raw[column.name], typed[column.name]
        present = value.isNotNull() & (text[column.name] != "")
        shown = F.substring(value, 1, 40)

        def message(before: str, after: str, shown: Column = shown) -> Column:
            return F.concat(F.lit(before), shown, F.lit(after))

        error = F.when(present & parsed.isNull(), message(f"{column.name}: cannot parse '", f"' as {column.dtype}"))
        if not column.nullable:
            error = error.when(~present, F.lit(f"{column.name}: required value is missing"))
        if column.min_value is not None:
            error = error.when(parsed < F.lit(column.min_value),
                               message(f"{column.name}: ", f" is below the minimum {_format(column.min_value)}"))
        if column.max_value is not None:
            error = error.when(parsed > F.lit(column.max_value),
                               message(f"{column.name}: ", f" is above the maximum {_format(column.max_value)}"))
        if column.past_only and latest is not None:
            error = error.when(parsed > F.lit(latest),
                               message(f"{column.name}: ", f" is in the future (the file was written {written})"))
        errors.append(error)
    return errors


def _format(value: float) -> str:
    """A bound as polars' ``pl.format`` writes the literal."""
    return pl.select(pl.format("{}", pl.lit(value))).item()


def raw_record(columns: list[Column]) -> Column:
    """The record re-serialised as one CSV line (RFC 4180 quoting), as lib.ingest.raw_record."""
    fields = [
        F.when(c.isNull(), F.lit(""))
        .when(c.rlike(r'[",\r\n]'), F.concat(F.lit('"'), F.replace(c, F.lit('"'), F.lit('""')), F.lit('"')))
        .otherwise(c)
        for c in columns
    ]
    return F.concat_ws(",", *fields) if fields else F.lit("")


def _rescued(extras: dict[str, Column]) -> Column:
    """polars ``struct.json_encode()`` of the unknown columns, null when all of them are null."""
    if not extras:
        return F.lit(None).cast(T.StringType())
    encoded = F.to_json(F.struct(*[c.alias(name) for name, c in extras.items()]), {"ignoreNullFields": "false"})
    for code in _UPPER_HEX_ESCAPES:  # an escape, i.e. preceded by an even number of backslashes
        encoded = F.regexp_replace(encoded, rf"(?<!\\)((?:\\\\)*)\\u{code}", rf"$1\\u{code.lower()}")
    any_value = reduce(operator.or_, [c.isNotNull() for c in extras.values()])
    return F.when(any_value, encoded)


# ---------------------------------------------------------------------------------------------
# The split


def ingest(
    spark: SparkSession,
    raw: DataFrame,
    header: SourceHeader,
    contract: Contract,
    source_file: str,
    *,
    window: tuple[dt.date, dt.date] | None = None,
    partition_bounds: tuple[dt.date, dt.date] | None = None,
    order_weeks: DataFrame | None = None,
    written_at: dt.datetime | None = None,
) -> SparkIngestResult:
    """Split source records into bronze and quarantine rows for a partition window.

    The arguments and rules are those of ``lib.ingest.ingest``; ``raw`` comes from
    :func:`parse_records` (its ``records``), ``order_weeks`` is a Spark DataFrame of (order_id, week) and
    ``written_at`` the snapshot's ``written_at``. The counts come from one aggregation; ``bronze``
    and ``quarantine`` are lazy DataFrames over ``raw``.
    """
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        raise ValueError(f"The Spark session time zone must be UTC (weeks are UTC), not {zone!r}.")
    # Positional names: header names may differ only in case, hold dots, or be empty.
    fields = [f"__c{i}" for i in range(len(header.columns))]
    internal = {SOURCE_LINE_COLUMN: LINE, MALFORMED: MALFORMED, RAW_TEXT: RAW_TEXT}
    df = raw.toDF(*fields, *[internal[c] for c in raw.columns[len(fields):]])
    for name in (MALFORMED, RAW_TEXT):
        if name not in df.columns:
            df = df.withColumn(name, F.lit(None).cast(T.StringType()))
    by_name = dict(zip(header.columns, fields))
    raw_cols = {c.name: F.col(by_name[c.name]) for c in contract.columns}
    df, text, typed = _typed(df, contract, raw_cols)
    # A record that could not be split into fields is quarantined with that reason alone.
    reason = F.coalesce(F.col(MALFORMED), F.concat_ws("; ", *_errors(contract, raw_cols, text, typed, written_at)))
    df = df.withColumn(REASON, F.when(reason != "", reason))
    df = _place(df, contract, partition_bounds, order_weeks, raw_cols, typed)
    df = _flag_duplicates(df, contract, raw_cols, typed)

    bad = F.col(REASON).isNotNull()
    if contract.partitioned and window is not None:
        in_window = F.coalesce((F.col(WEEK_COLUMN) >= F.lit(window[0])) & (F.col(WEEK_COLUMN) < F.lit(window[1])),
                               F.lit(False))
    else:
        in_window = F.lit(True)
    has_week = F.col(WEEK_COLUMN).isNotNull() if contract.partitioned else F.lit(True)

    # Computed once: the counts, bronze, quarantine and reasons all read it.
    df = df.localCheckpoint(eager=True)
    counts = df.agg(
        F.count(F.lit(1)).alias("records"),
        F.count(F.when(~bad & in_window, 1)).alias("bronze_in"),
        F.count(F.when(~bad & ~in_window, 1)).alias("bronze_out"),
        F.count(F.when(bad, 1)).alias("quarantined"),
        F.count(F.when(bad & ~has_week, 1)).alias("unplaced"),
    ).first()

    extras = {name: F.col(by_name[name]) for name in header.extra}
    bronze_columns = [typed[c.name].alias(c.name) for c in contract.columns]
    if contract.partitioned:
        bronze_columns.append(F.col(WEEK_COLUMN))
    bronze_columns += [
        _rescued(extras).alias(RESCUED_COLUMN),
        F.lit(source_file).alias(SOURCE_FILE_COLUMN),
        F.col(LINE).cast(T.LongType()).alias(SOURCE_LINE_COLUMN),
    ]
    bronze = df.filter(~bad & in_window).select(*bronze_columns)
    quarantine = df.filter(bad).select(
        (F.col(WEEK_COLUMN) if contract.partitioned else F.lit(None).cast(T.DateType())).alias(WEEK_COLUMN),
        F.lit(contract.table).alias("source_table"),
        F.lit(source_file).alias("source_file"),
        F.col(LINE).cast(T.LongType()).alias("source_line"),
        F.col(REASON).alias("reason"),
        F.coalesce(F.col(RAW_TEXT), raw_record([F.col(f) for f in fields])).alias("raw_record"),
    )
    return SparkIngestResult(
        bronze=bronze,
        quarantine=quarantine,
        header=header,
        source_records=counts["records"],
        bronze_in_window=counts["bronze_in"],
        bronze_other_weeks=counts["bronze_out"],
        quarantined=counts["quarantined"],
        quarantined_unplaced=counts["unplaced"],
    )


def _add_reason(df: DataFrame, condition: Column, message: Column) -> DataFrame:
    combined = F.concat_ws("; ", F.col(REASON), message)
    return df.withColumn(REASON, F.when(F.coalesce(condition, F.lit(False)), combined).otherwise(F.col(REASON)))


def _place(
    df: DataFrame,
    contract: Contract,
    bounds: tuple[dt.date, dt.date] | None,
    order_weeks: DataFrame | None,
    raw: dict[str, Column],
    typed: dict[str, Column],
) -> DataFrame:
    """Add the ``week`` column; rows that cannot be placed get a reason and a null week."""
    if contract.placement is Placement.NONE:
        return df
    if contract.placement is Placement.OWN_TIMESTAMP:
        # Monday of the UTC week (the session zone is UTC, checked by ingest).
        df = df.withColumn(WEEK_COLUMN, F.to_date(F.date_trunc("week", typed[contract.week_source])))
    else:
        if order_weeks is None:
            raise ValueError(f"{contract.table}: placing rows by order needs the orders' weeks.")
        lookup = order_weeks.groupBy(F.col("order_id").alias("__order")).agg(F.min(WEEK_COLUMN).alias(WEEK_COLUMN))
        order_id = raw["order_id"]
        df = df.join(lookup, order_id == F.col("__order"), "left").drop("__order")
        orphan = F.col(WEEK_COLUMN).isNull() & order_id.isNotNull()
        df = _add_reason(df, orphan, F.concat(F.lit("order_id: '"), order_id,
                                              F.lit("' has no order in bronze orders (orphan)")))
    if bounds is not None:
        week = F.col(WEEK_COLUMN)
        outside = F.coalesce(~((week >= F.lit(bounds[0])) & (week < F.lit(bounds[1]))), F.lit(False))
        message = F.concat(F.lit(f"{contract.week_source}: week "), week.cast(T.StringType()),
                           F.lit(f" is outside the partitions [{bounds[0]}, {bounds[1]})"))
        df = _add_reason(df, outside, message)
        df = df.withColumn(WEEK_COLUMN, F.when(~outside, week))
    return df


def _flag_duplicates(df: DataFrame, contract: Contract, raw: dict[str, Column], typed: dict[str, Column]) -> DataFrame:
    """Quarantine repeats of a primary key among valid rows; the first record (by line) wins."""
    if not contract.primary_key:
        return df
    valid = F.col(REASON).isNull()
    first_line = F.min(F.when(valid, F.col(LINE))).over(Window.partitionBy(*[typed[k] for k in contract.primary_key]))
    df = df.withColumn("__first_line", first_line)
    key_text = F.concat_ws(", ", *[F.concat(F.lit(f"{k}="), raw[k]) for k in contract.primary_key])
    message = F.concat(F.lit("duplicate primary key: ("), key_text, F.lit(") first seen at line "),
                       F.col("__first_line").cast(T.StringType()))
    repeat = valid & (F.col(LINE) != F.col("__first_line"))
    return _add_reason(df, repeat, message).drop("__first_line")
