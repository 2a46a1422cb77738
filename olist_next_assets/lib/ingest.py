"""Source CSV -> (bronze rows, quarantine rows), driven by a :class:`Contract`. Pure polars.

Rules, in order:
0. The file is read once, into memory, and its size, modification time and inode must be the same
   before, during and after the read: a file rewritten or replaced meanwhile is a
   :class:`SourceChanged` error naming it (nothing is written). A file that is not UTF-8 and has
   no UTF-8 multi-byte sequence at all, only Latin-1 letters, is a Latin-1 export: it is
   transcoded as a whole (bytes 0x80-0x9F, where Windows-1252 differs, are never taken as text). Otherwise a record with bytes that are not UTF-8, a record with
   more fields than the header or broken quoting, and a last record cut short (the file ends
   without a line break, inside a quoted value or before its last field) is quarantined with the
   column where the trouble starts; every other record is parsed by polars as usual.
1. Every column is read as text, so no value is lost to type inference. Columns the contract
   does not know are kept in ``_rescued_data`` (a JSON object per row); a contract column
   missing from the file is a :class:`ContractViolation` that names file and column.
2. Each contract column is cast to its type; a value that does not parse, a missing required
   value, a value out of bounds, or an event timestamp later than the file itself (more than a
   day after its modification time: see ``Column.past_only``) gives the row a quarantine reason
   naming the column.
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
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
MALFORMED = "__malformed"  # why a record could not be split into fields (null when it could)
RAW_TEXT = "__raw_text"  # such a record's text, as it was in the file
READ_CHUNK_BYTES = 8 << 20
FUTURE_TOLERANCE = dt.timedelta(days=1)  # zone-less timestamps: any local zone is within a day of UTC
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

    def __init__(self, message: str, header: SourceHeader | None = None):
        super().__init__(message)
        self.header = header


class SourceChanged(RuntimeError):
    """The file changed while it was being read: what was read may be half of two versions."""


@dataclass(frozen=True)
class SourceSnapshot:
    """A source file's bytes, read once, with the version (size, modification time) they are of."""

    path: Path
    data: bytes
    size: int
    modified_ns: int

    @property
    def written_at(self) -> dt.datetime:
        """When the file was written (its modification time, never later than now), in UTC."""
        modified = dt.datetime.fromtimestamp(self.modified_ns / 1e9, tz=dt.UTC)
        return min(modified, dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class ParsedSource:
    records: pl.DataFrame
    encoding: str  # "utf-8", or "latin-1" when the file was transcoded


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


def _open_source(path: Path) -> BinaryIO:
    return path.open("rb")


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def read_snapshot(path: Path) -> SourceSnapshot:
    """Read the whole file once; fail with :class:`SourceChanged` when it changes meanwhile
    (rewritten in place: size or modification time; replaced: inode)."""
    before = path.stat()
    chunks = []
    with _open_source(path) as handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            chunks.append(chunk)
        during = os.fstat(handle.fileno())
    after = path.stat()
    data = b"".join(chunks)
    if len({_stamp(before), _stamp(during), _stamp(after)}) > 1 or len(data) != before.st_size:
        def when(stat: os.stat_result) -> str:
            return dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=dt.UTC).strftime("%H:%M:%S.%f")

        raise SourceChanged(
            f"{path.name}: the file changed while it was being read (size {before.st_size} -> "
            f"{after.st_size} bytes, modified {when(before)} -> {when(after)} UTC, {len(data)} bytes read); "
            "Rerun once the export is complete (a drop's _SUCCESS marker says so)."
        )
    return SourceSnapshot(path=path, data=data, size=before.st_size, modified_ns=before.st_mtime_ns)


def _snapshot(source: Path | SourceSnapshot) -> SourceSnapshot:
    return source if isinstance(source, SourceSnapshot) else read_snapshot(source)


def read_header(source: Path | SourceSnapshot) -> list[str]:
    """The header row as the csv module parses it (handles a UTF-8 BOM and quoted names)."""
    snapshot = _snapshot(source)
    end = snapshot.data.find(b"\n")
    first = snapshot.data if end < 0 else snapshot.data[:end]
    if not first.strip():
        problem = "the file is empty" if not snapshot.data.strip() else "line 1 is blank"
        raise ContractViolation(f"{snapshot.path.name}, line 1: {problem} (no header row).")
    text = first.decode("utf-8-sig", errors="backslashreplace").rstrip("\r")
    return [name.strip() for name in next(csv.reader([text]))]


def check_header(source: Path | SourceSnapshot, contract: Contract) -> SourceHeader:
    snapshot = _snapshot(source)
    columns = read_header(snapshot)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ContractViolation(
            f"{snapshot.path.name}, line 1 (header): column(s) {', '.join(repr(c) for c in repeated)} "
            "appear more than once."
        )
    known = set(contract.column_names)
    missing = [c for c in contract.column_names if c not in columns]
    extra = [c for c in columns if c not in known]
    return SourceHeader(columns=columns, extra=extra, missing=missing)


def has_records(source: Path | SourceSnapshot) -> bool:
    """Whether anything but blank lines follows the header row."""
    data = _snapshot(source).data
    end = data.find(b"\n")
    return end >= 0 and re.compile(rb"\S").search(data, end + 1) is not None


def read_checked(path: Path, contract: Contract) -> tuple[SourceSnapshot, SourceHeader]:
    """Read a source file once and check it as a whole, before any row is looked at.

    :class:`SourceChanged` when it changes while read; :class:`ContractViolation` (naming file,
    line and column) when it is empty, names a column twice, lacks a contract column (the
    exception carries the header), or has no record after its header: bronze mirrors its file,
    so an export without a single record would empty the table.
    """
    snapshot = read_snapshot(path)
    header = check_header(snapshot, contract)
    if header.missing:
        raise ContractViolation(
            f"{path.name}, line 1 (header): contract column(s) {', '.join(header.missing)} missing "
            f"(found: {', '.join(header.columns)}).",
            header=header,
        )
    if not has_records(snapshot):
        raise ContractViolation(
            f"{path.name}, line 2: no record after the header (line 1); refusing to replace the "
            f"'{contract.table}' table with an empty one."
        )
    return snapshot, header


def read_source(path: Path, contract: Contract) -> tuple[pl.DataFrame, SourceHeader]:
    """All records of a source file as text; a missing contract column is a ContractViolation."""
    snapshot = read_snapshot(path)
    header = check_header(snapshot, contract)
    if header.missing:
        raise ContractViolation(
            f"{path.name}: column(s) {', '.join(repr(c) for c in header.missing)} required by the "
            f"'{contract.table}' contract are missing (found: {', '.join(header.columns)})."
        )
    return read_records(snapshot, header), header


def read_records(source: Path | SourceSnapshot, header: SourceHeader) -> pl.DataFrame:
    """All records as text, with the physical line on which each starts (see :func:`parse_records`)."""
    return parse_records(_snapshot(source), header).records


def parse_records(snapshot: SourceSnapshot, header: SourceHeader) -> ParsedSource:
    """All records as text, with the physical line on which each starts.

    Polars parses the file when it can (the fast path). When it cannot (bytes that are not UTF-8,
    a record with too many fields, broken quoting), the file is split into records here, those
    polars cannot parse are kept aside with the reason in ``__malformed`` and their text in
    ``__raw_text``, and polars parses the others.
    """
    data, encoding = _decode(snapshot.data)
    try:
        records = _polars_records(data, header)
    except pl.exceptions.ComputeError:
        records = _salvage(data, header)
    else:
        records = records.with_columns(
            pl.lit(None, pl.String).alias(MALFORMED), pl.lit(None, pl.String).alias(RAW_TEXT)
        )
        records = _check_last_record(records, data, header)
    return ParsedSource(records=records, encoding=encoding)


def _polars_records(data: bytes, header: SourceHeader, lines: list[int] | None = None) -> pl.DataFrame:
    raw = pl.read_csv(data, infer_schema=False, new_columns=header.columns, encoding="utf8", raise_if_empty=False)
    if raw.width != len(header.columns):  # header-only files come back with no columns
        raw = pl.DataFrame(schema={c: pl.String for c in header.columns})
    if lines is not None:
        return raw.with_columns(pl.Series(SOURCE_LINE_COLUMN, lines, dtype=pl.Int64))
    # A record starts on the line after the previous one ends; quoted fields may span lines.
    breaks = pl.sum_horizontal(
        [pl.col(c).str.count_matches("\n").fill_null(0) for c in header.columns]
    ) if header.columns else pl.lit(0)
    span = breaks.cast(pl.Int64) + 1
    return raw.with_columns((span.cum_sum() - span + 2).alias(SOURCE_LINE_COLUMN))


# -- encodings ---------------------------------------------------------------------------------

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# What Portuguese text in Latin-1 / Windows-1252 is made of beyond ASCII: letters (\xc0-\xff but
# the signs of multiplication and division), the ordinal indicators and the degree sign.
_NOT_LATIN1_TEXT = re.compile(rb"[\x80-\xa9\xab-\xaf\xb1-\xb9\xbb-\xbf\xd7\xf7]")


def _decode(data: bytes) -> tuple[bytes, str]:
    """UTF-8 bytes of the file and the encoding it was in.

    A file that is not valid UTF-8 is transcoded as a whole only when it has no UTF-8 multi-byte
    sequence at all and every other byte is a Latin-1 letter (or ª º °): a Latin-1 export. A
    UTF-8 file with a few broken bytes is left as it is: its broken records are quarantined.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return data, "utf-8"
    if _UTF8_MULTIBYTE.search(data) is None and _NOT_LATIN1_TEXT.search(data) is None:
        return data.decode("latin-1").encode("utf-8"), "latin-1"
    return data, "utf-8"


# -- records polars cannot parse -------------------------------------------------------------

_FIELD = rb'(?:"(?:[^"]|"")*"|[^,"\r\n]*)'
_RECORD = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*(?:\r?\n|\Z)")
_QUOTED = re.compile(rb'"(?:[^"]|"")*"')


def _field_count(record: bytes) -> int:
    return _QUOTED.sub(b"", record).count(b",") + 1


def _split_fields(text: str) -> tuple[list[str], str | None]:
    """One record's fields (RFC 4180) and, when its quoting is broken, what is wrong."""
    fields: list[str] = []
    value: list[str] = []
    i, n, quoted, was_quoted = 0, len(text), False, False
    while i < n:
        ch = text[i]
        if quoted:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    value.append('"')
                    i += 1
                else:
                    quoted = False
            else:
                value.append(ch)
        elif ch == ",":
            fields.append("".join(value))
            value, was_quoted = [], False
        elif ch == '"':
            if value or was_quoted:
                fields.append("".join(value))
                problem = "text after a closing quote" if was_quoted else "a quote inside an unquoted value"
                return fields, problem
            quoted = was_quoted = True
        elif ch in "\r\n":
            pass
        elif was_quoted:
            fields.append("".join(value))
            return fields, "text after a closing quote"
        else:
            value.append(ch)
        i += 1
    fields.append("".join(value))
    return fields, "a quoted value that is never closed" if quoted else None


def _column_of(header: SourceHeader, index: int) -> str:
    return header.columns[index] if index < len(header.columns) else f"field {index + 1}"


def _diagnose(record: bytes, header: SourceHeader, at_end: bool) -> str | None:
    """Why a record cannot be taken as it is (None when it can)."""
    width = len(header.columns)
    text = record.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
    fields, problem = _split_fields(text)
    if problem is not None:
        truncated = " (the file ends inside it: truncated?)" if at_end and "never closed" in problem else ""
        return f"{_column_of(header, len(fields) - 1)}: malformed quoting, {problem}{truncated}"
    if len(fields) > width:
        return f"record: {len(fields)} fields where the header has {width} (a separator inside an unquoted value?)"
    for index, value in enumerate(fields):
        bad = [ord(ch) - 0xDC00 for ch in value if "\udc80" <= ch <= "\udcff"]
        if bad:
            shown = " ".join(f"0x{b:02X}" for b in bad[:4])
            return f"{_column_of(header, index)}: invalid UTF-8 byte(s) {shown}"
    if at_end and not record.endswith(b"\n") and len(fields) < width:
        return (f"{_column_of(header, len(fields))}: missing, the file ends after {len(fields)} of {width} "
                "fields of this record (truncated)")
    return None


def _as_text(record: bytes) -> str:
    return record.decode("utf-8", errors="backslashreplace").rstrip("\r\n")


def _check_last_record(records: pl.DataFrame, data: bytes, header: SourceHeader) -> pl.DataFrame:
    """A file that ends without a line break may have been cut short: check its last record."""
    if records.is_empty() or data.endswith(b"\n"):
        return records
    start_line = records[SOURCE_LINE_COLUMN][-1]
    start = len(data)
    for _ in range(data.count(b"\n") + 2 - start_line):
        start = data.rfind(b"\n", 0, start)
    last = data[start + 1:]
    problem = _diagnose(last, header, at_end=True)
    if problem is None:
        return records
    flagged = pl.int_range(pl.len()) == records.height - 1
    return records.with_columns(
        *[pl.when(flagged).then(None).otherwise(pl.col(c)).alias(c) for c in header.columns],
        pl.when(flagged).then(pl.lit(problem)).otherwise(pl.col(MALFORMED)).alias(MALFORMED),
        pl.when(flagged).then(pl.lit(_as_text(last))).otherwise(pl.col(RAW_TEXT)).alias(RAW_TEXT),
    )


def _salvage(data: bytes, header: SourceHeader) -> pl.DataFrame:
    """Split the file into records; keep aside those polars cannot parse, parse the others."""
    pos = data.find(b"\n") + 1 if b"\n" in data else len(data)
    header_bytes = data[:pos]
    good: list[bytes] = []
    good_lines: list[int] = []
    bad: list[tuple[int, str, str]] = []
    line, size = 2, len(data)
    while pos < size:
        match = _RECORD.match(data, pos)
        if match is not None and match.end() > pos:
            end = match.end()
            record = data[pos:end]
            at_end = end == size
            problem = None
            if _field_count(record) > len(header.columns) or at_end:
                problem = _diagnose(record, header, at_end)
            else:
                try:
                    record.decode("utf-8")
                except UnicodeDecodeError:
                    problem = _diagnose(record, header, at_end)
        else:
            end = data.find(b"\n", pos)
            end = size if end < 0 else end + 1
            record = data[pos:end]
            problem = _diagnose(record, header, end == size) or "malformed record"
        if problem is None:
            good.append(record)
            good_lines.append(line)
        else:
            bad.append((line, problem, _as_text(record)))
        line += record.count(b"\n")
        pos = end
    body = b"".join(good)
    parsed = _polars_records(header_bytes + body, header, lines=good_lines) if good else None
    if parsed is not None and parsed.height != len(good):
        raise ContractViolation(f"could not split the file into records ({parsed.height} parsed, {len(good)} found)")
    frames = [] if parsed is None else [parsed.with_columns(
        pl.lit(None, pl.String).alias(MALFORMED), pl.lit(None, pl.String).alias(RAW_TEXT))]
    if bad:
        lines, reasons, texts = zip(*bad, strict=True)
        frames.append(pl.DataFrame({
            **{c: pl.Series(c, [None] * len(bad), dtype=pl.String) for c in header.columns},
            SOURCE_LINE_COLUMN: pl.Series(list(lines), dtype=pl.Int64),
            MALFORMED: pl.Series(list(reasons), dtype=pl.String),
            RAW_TEXT: pl.Series(list(texts), dtype=pl.String),
        }))
    if not frames:
        return _polars_records(header_bytes, header).with_columns(
            pl.lit(None, pl.String).alias(MALFORMED), pl.lit(None, pl.String).alias(RAW_TEXT))
    return pl.concat(frames).sort(SOURCE_LINE_COLUMN)


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


def _errors(contract: Contract, written_at: dt.datetime | None = None) -> list[pl.Expr]:
    """One nullable error message per column (null when the value is fine)."""
    errors = []
    latest = None if written_at is None else written_at + FUTURE_TOLERANCE
    written = None if written_at is None else written_at.strftime("%Y-%m-%d %H:%M:%S UTC")
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
        if column.past_only and latest is not None:
            error = error.when(typed > latest).then(
                pl.format("{}: {} is in the future (the file was written {})", pl.lit(column.name), shown,
                          pl.lit(written))
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
    written_at: dt.datetime | None = None,
) -> IngestResult:
    """Split source records into bronze and quarantine rows for a partition window.

    ``window`` is the ``[start, end)`` range of week starts being materialized (None: all rows,
    as for an unpartitioned table); ``partition_bounds`` the first and end week of the weekly
    partitions; ``order_weeks`` (order_id, week) of bronze orders, for tables placed by order;
    ``written_at`` when the file was written (:attr:`SourceSnapshot.written_at`): an event
    timestamp later than that (plus a day) is quarantined. Records that could not be split into
    fields (``__malformed``, from :func:`parse_records`) are quarantined with that reason alone.
    """
    for internal in (MALFORMED, RAW_TEXT):
        if internal not in raw.columns:
            raw = raw.with_columns(pl.lit(None, pl.String).alias(internal))
    contract_errors = pl.concat_str(_errors(contract, written_at), separator="; ", ignore_nulls=True)
    typed = raw.with_columns(
        [_parse(c.name, c.dtype).alias(f"__typed_{c.name}") for c in contract.columns]
    ).with_columns(pl.coalesce(pl.col(MALFORMED), contract_errors).alias(REASON))
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
        pl.coalesce(pl.col(RAW_TEXT), raw_record(header.columns)).alias("raw_record"),
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
