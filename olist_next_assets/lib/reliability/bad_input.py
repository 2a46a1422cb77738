"""Bad input, nothing lost: a corpus of broken source files and a runner that proves each one.

Each :class:`BadInputCase` derives a broken export from a clean one (a small generated synthetic
release): missing, extra, renamed, repeated and reordered columns, wrong types, empty and
header-only files, truncated last records, duplicate keys, invalid UTF-8, Latin-1 text, quoted
line breaks and quotes, broken quoting, timestamps in other formats or in the future, negative
prices, orphan keys, and a file rewritten while it is being read. The corruption works on the
file's records (:class:`Draft`), so it knows, for every record it writes, the line it lands on and
what must become of it: the same as in the clean run, quarantined with a reason, or in bronze
with given values.

:func:`run_case` materializes the real bronze assets (``dg.materialize``, the project's Delta IO
manager and resources) on the broken landing zone, over every week, and checks that either

* the run succeeds, every blocking check passes, every record is in bronze or in quarantine
  (``rows_lost == 0``), the bronze and quarantine tables hold exactly the expected rows (compared
  value by value with the clean run), and every bad record's reason names what is wrong; or
* the run fails with a message naming the file, line and column, and neither table got a new
  Delta version (nothing partial is left behind);

and then that a corrected rerun (the clean file back) heals it: both tables equal the clean run.

    from olist_next_assets.lib.reliability.bad_input import CASES, build_baseline, run_case
    baseline = build_baseline(workdir / "baseline")
    results = [run_case(case, baseline, workdir) for case in CASES]

or :func:`run_corpus` for all of it. ``CaseResult`` holds what a benchmark prints.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from unittest import mock

import polars as pl

from olist_next_assets.lib import ingest
from olist_next_assets.lib.contracts import CONTRACTS, SOURCE_LINE_COLUMN

if TYPE_CHECKING:
    import dagster as dg

Outcome = Literal["accepted", "quarantined", "fails"]
QUARANTINE_LINE = "source_line"


# -- what must become of each record ---------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The fate of one record of the broken file.

    ``same``: as in the clean run (same bronze row, or same quarantine row), at its new line;
    ``quarantine``: in quarantine, its reason containing every one of ``reasons``;
    ``bronze``: in bronze, equal to the clean row but for ``values`` (column -> typed value).
    """

    kind: Literal["same", "quarantine", "bronze"]
    reasons: tuple[str, ...] = ()
    values: tuple[tuple[str, object], ...] = ()


SAME = Expect("same")


def quarantined(*reasons: str) -> Expect:
    return Expect("quarantine", reasons=reasons)


def in_bronze(**values: object) -> Expect:
    return Expect("bronze", values=tuple(values.items()))


# -- a source file as records ----------------------------------------------------------------


@dataclass
class Draft:
    """A clean export as records of text fields, to be broken and written back.

    ``origin[i]`` is the index of the clean record row ``i`` comes from (None for a new record),
    ``expect[i]`` what must become of it. ``raw`` maps a marker placed in a field to the bytes it
    is replaced with after quoting (so a value can be written unquoted, or with bytes that are not
    UTF-8). The file keeps the clean file's line ending, byte-order mark and final line break.
    """

    header: list[str]
    rows: list[list[str | None]]
    origin: list[int | None]
    expect: list[Expect]
    clean_lines: list[int]
    terminator: str = "\n"
    bom: bool = False
    final_newline: bool = True
    encoding: str = "utf-8"
    raw: dict[str, bytes] = field(default_factory=dict)
    truncate_last_to: int | None = None  # keep only this many bytes of the last record
    empty: bool = False

    @classmethod
    def parse(cls, clean: bytes) -> Draft:
        text = clean.decode("utf-8-sig")
        first_end = text.find("\n")
        terminator = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        rows, lines, previous = [], [], reader.line_num
        for record in reader:
            rows.append([value if value != "" else None for value in record])
            lines.append(previous + 1)
            previous = reader.line_num
        return cls(header=header, rows=rows, origin=list(range(len(rows))), expect=[SAME] * len(rows),
                   clean_lines=lines, terminator=terminator, bom=clean.startswith(b"\xef\xbb\xbf"),
                   final_newline=clean.endswith(b"\n"))

    def col(self, name: str) -> int:
        return self.header.index(name)

    def get(self, row: int, column: str) -> str | None:
        return self.rows[row][self.col(column)]

    def set(self, row: int, column: str, value: str | None, expect: Expect) -> None:
        self.rows[row][self.col(column)] = value
        self.expect[row] = expect

    def add(self, values: list[str | None], expect: Expect, origin: int | None = None) -> None:
        self.rows.append(values)
        self.origin.append(origin)
        self.expect.append(expect)

    def picks(self, n: int, where: Callable[[list[str | None]], bool] | None = None) -> list[int]:
        """``n`` records spread over the file (deterministic), among those ``where`` accepts."""
        candidates = [i for i, row in enumerate(self.rows) if where is None or where(row)]
        step = max(len(candidates) // (n + 1), 1)
        return [candidates[step * (k + 1) - 1] for k in range(n)]

    def render(self) -> tuple[bytes, list[int]]:
        """The file's bytes and the line on which each record starts."""
        if self.empty:
            return b"", []
        newline = self.terminator.encode()
        head = ",".join(f'"{name}"' for name in self.header).encode(self.encoding) + newline
        records, lines, line = [], [], 2
        for row in self.rows:
            record = ",".join(_quote(value) for value in row).encode(self.encoding)
            for marker, raw in self.raw.items():
                record = record.replace(marker.encode(), raw)
            records.append(record)
            lines.append(line)
            line += record.count(b"\n") + 1
        body = newline.join(records)
        if self.truncate_last_to is not None:
            body = body[: len(body) - len(records[-1]) + self.truncate_last_to]
        elif self.final_newline and records:
            body += newline
        return (b"\xef\xbb\xbf" if self.bom else b"") + head + body, lines


def _quote(value: str | None) -> str:
    if value is None:
        return ""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# -- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInputCase:
    """One broken export: which table, how it is broken, and what the run must do about it.

    ``reasons``: for ``fails``, substrings of the failure message (file, line, column); for the
    others, substrings each of which some quarantine reason must contain (the per-record
    expectations of the draft are checked as well). ``warnings``: (check name, text) of the
    non-blocking checks expected to warn; ``metadata``: (key, value) expected on the bronze
    materialization. ``rewrite_during_read``: the file is rewritten in place while it is read.
    """

    name: str
    table: str
    description: str
    corrupt: Callable[[Draft], None]
    outcome: Outcome
    reasons: tuple[str, ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()
    metadata: tuple[tuple[str, object], ...] = ()
    rewrite_during_read: bool = False

    @property
    def source_file(self) -> str:
        return CONTRACTS[self.table].source_file

    def build(self, clean: bytes) -> tuple[bytes, Draft, list[int]]:
        """The broken file, the draft it was written from, and each record's line."""
        draft = Draft.parse(clean)
        self.corrupt(draft)
        data, lines = draft.render()
        return data, draft, lines


def _missing_column(d: Draft) -> None:
    index = d.col("seller_city")
    d.header.pop(index)
    for row in d.rows:
        row.pop(index)


def _renamed_column(d: Draft) -> None:
    d.header[d.col("customer_city")] = "cidade"


def _repeated_column(d: Draft) -> None:
    d.header.append("customer_state")
    for row in d.rows:
        row.append(row[d.col("customer_state")])


def _extra_column(d: Draft) -> None:
    d.header.append("seller_rating")
    for i, row in enumerate(d.rows):
        rating = None if i % 3 == 0 else f"{3 + i % 3}.5"
        row.append(rating)
        d.expect[i] = in_bronze(_rescued_data=None if rating is None else f'{{"seller_rating":"{rating}"}}')


def _reordered_columns(d: Draft) -> None:
    order = list(reversed(range(len(d.header))))
    d.header = [d.header[i] for i in order]
    d.rows = [[row[i] for i in order] for row in d.rows]


def _wrong_types(d: Draft) -> None:
    a, b, c = d.picks(3)
    d.set(a, "product_weight_g", "1.5kg", quarantined("product_weight_g: cannot parse '1.5kg' as Int32"))
    d.set(b, "product_photos_qty", "two", quarantined("product_photos_qty: cannot parse 'two' as Int32"))
    d.set(c, "product_height_cm", "12.5", quarantined("product_height_cm: cannot parse '12.5' as Int32"))


def _empty_file(d: Draft) -> None:
    d.empty = True


def _header_only(d: Draft) -> None:
    d.rows, d.origin, d.expect = [], [], []


def _truncated_last_record(d: Draft) -> None:
    last = len(d.rows) - 1
    record = ",".join(_quote(v) for v in d.rows[last])
    d.truncate_last_to = record.rfind(",") - 3  # inside the city: the state never comes
    d.expect[last] = quarantined("customer_state: missing", "truncated")


def _truncated_inside_quotes(d: Draft) -> None:
    last = len(d.rows) - 1
    d.rows[last][d.col("seller_city")] = "sao paulo, centro"
    record = ",".join(_quote(v) for v in d.rows[last])
    d.truncate_last_to = record.index('"sao paulo,') + 6
    d.expect[last] = quarantined("seller_city: malformed quoting, a quoted value that is never closed", "truncated")


def _duplicate_keys(d: Draft) -> None:
    a, b = d.picks(2)
    first_line = 2 + a  # customers has no quoted line breaks
    d.add(list(d.rows[a]), quarantined(f"duplicate primary key: (customer_id={d.get(a, 'customer_id')}) "
                                       f"first seen at line {first_line}"))
    changed = list(d.rows[b])
    changed[d.col("customer_city")] = "outra cidade"
    d.add(changed, quarantined("duplicate primary key", f"first seen at line {2 + b}"))


def _invalid_utf8(d: Draft) -> None:
    for k, i in enumerate(d.picks(2, where=lambda row: row[d.col("review_comment_message")] is not None)):
        marker = f"BADBYTES{k}X"
        d.set(i, "review_comment_message", f"Entrega {marker} ok", quarantined("review_comment_message: invalid UTF-8"))
        d.raw[marker] = b"r\xc3pida" if k == 0 else b"\xff\xfe"


def _stray_byte(d: Draft) -> None:
    (i,) = d.picks(1)
    d.set(i, "customer_city", "STRAYBYTEX", quarantined("customer_city: invalid UTF-8 byte(s) 0x9D"))
    d.raw["STRAYBYTEX"] = b"sao\x9dpaulo"


def _latin1(d: Draft) -> None:
    d.encoding = "latin-1"
    d.bom = False


def _quoted_breaks_and_quotes(d: Draft) -> None:
    texts = ['Chegou "rápido", recomendo.\nNota 10', "linha 1\r\nlinha 2\r\n", '"Ótimo" vendedor', 'aspas "" duplas']
    for text, i in zip(texts, d.picks(len(texts)), strict=True):
        d.set(i, "review_comment_message", text, in_bronze(review_comment_message=text))


def _malformed_quotes(d: Draft) -> None:
    a, b = d.picks(2)
    d.set(a, "customer_city", "QUOTEMARK0X", quarantined("customer_city: malformed quoting, a quote inside an unquoted"))
    d.set(b, "customer_city", "QUOTEMARK1X", quarantined("customer_city: malformed quoting, text after a closing quote"))
    d.raw["QUOTEMARK0X"] = b'sao "paulo'
    d.raw["QUOTEMARK1X"] = b'"rio" de janeiro'


def _extra_field(d: Draft) -> None:
    (i,) = d.picks(1)
    d.set(i, "customer_city", "COMMAMARKX", quarantined("record: 6 fields where the header has 5"))
    d.raw["COMMAMARKX"] = b"rio, de janeiro"  # unquoted: one field too many


def _timestamp_formats(d: Draft) -> None:
    column = "order_approved_at"
    a, b, c, e = d.picks(4, where=lambda row: row[d.col(column)] is not None)
    d.set(a, column, d.get(a, column).replace(" ", "T"), SAME)  # ISO 8601 with a T: the same instant
    day, clock = d.get(b, column).split(" ")
    year, month, dom = day.split("-")
    d.set(b, column, f"{dom}/{month}/{year} {clock}", quarantined(f"{column}: cannot parse '{dom}/{month}/{year}"))
    d.set(c, column, d.get(c, column) + "-03:00", quarantined(f"{column}: cannot parse"))
    d.set(e, column, "1507000000", quarantined(f"{column}: cannot parse '1507000000'"))


def _future_timestamps(d: Draft) -> None:
    a, b = d.picks(2)
    d.set(a, "order_delivered_customer_date", "2131-01-01 00:00:00",
          quarantined("order_delivered_customer_date: 2131-01-01 00:00:00 is in the future"))
    d.set(b, "order_approved_at", "2130-06-30 12:00:00", quarantined("order_approved_at: 2130-06-30 12:00:00 is in the future"))


def _negative_prices(d: Draft) -> None:
    a, b = d.picks(2)
    d.set(a, "price", "-10.00", quarantined("price: -10.00 is below the minimum 0"))
    d.set(b, "freight_value", "-0.01", quarantined("freight_value: -0.01 is below the minimum 0"))


def _orphan_items(d: Draft) -> None:
    for k, i in enumerate(d.picks(2)):
        d.set(i, "order_id", f"no-such-order-{k}", quarantined(f"order_id: 'no-such-order-{k}' has no order in bronze "
                                                                "orders (orphan)"))


def _in_partitions(d: Draft) -> Callable[[list[str | None]], bool]:
    column = d.col("review_creation_date")
    return lambda row: row[column] is not None and "2016-09-05" <= row[column] < "2018-10-01"


def _orphan_reviews(d: Draft) -> None:
    for k, i in enumerate(d.picks(2, where=_in_partitions(d))):
        d.set(i, "order_id", f"no-such-order-{k}", in_bronze(order_id=f"no-such-order-{k}"))


def _rewritten_mid_read(d: Draft) -> None:
    pass  # the file itself is clean; it changes while the asset reads it


CASES: list[BadInputCase] = [
    BadInputCase("missing_column", "sellers", "a contract column (seller_city) is not in the file",
                 _missing_column, "fails", ("olist_sellers_dataset.csv", "line 1", "seller_city")),
    BadInputCase("renamed_column", "customers", "customer_city renamed to cidade",
                 _renamed_column, "fails", ("olist_customers_dataset.csv", "line 1", "customer_city")),
    BadInputCase("repeated_column", "customers", "the header names customer_state twice",
                 _repeated_column, "fails", ("olist_customers_dataset.csv", "line 1", "customer_state",
                                             "more than once")),
    BadInputCase("extra_column", "sellers", "a column the contract does not know (seller_rating)",
                 _extra_column, "accepted", warnings=(("source_schema_drift", "seller_rating"),)),
    BadInputCase("reordered_columns", "products", "the columns in reverse order",
                 _reordered_columns, "accepted"),
    BadInputCase("wrong_types", "products", "text and decimals in integer columns",
                 _wrong_types, "quarantined", ("cannot parse",)),
    BadInputCase("empty_file", "sellers", "zero bytes", _empty_file, "fails",
                 ("olist_sellers_dataset.csv", "line 1", "empty")),
    BadInputCase("header_only", "customers", "a header and no record", _header_only, "fails",
                 ("olist_customers_dataset.csv", "line 2", "no record")),
    BadInputCase("truncated_last_line", "customers", "the last record cut inside its city, no final line break",
                 _truncated_last_record, "quarantined", ("truncated",)),
    BadInputCase("truncated_inside_quotes", "sellers", "the last record cut inside a quoted value",
                 _truncated_inside_quotes, "quarantined", ("truncated",)),
    BadInputCase("duplicate_keys", "customers", "a customer_id repeated (once identical, once changed)",
                 _duplicate_keys, "quarantined", ("duplicate primary key",)),
    BadInputCase("invalid_utf8", "order_reviews", "bytes that are not UTF-8 in review comments of a UTF-8 file",
                 _invalid_utf8, "quarantined", ("invalid UTF-8",)),
    BadInputCase("stray_byte", "customers", "a 0x9D byte in a city of an ASCII file",
                 _stray_byte, "quarantined", ("invalid UTF-8",)),
    BadInputCase("latin1_text", "order_reviews", "the whole reviews file in Latin-1 (accented comments)",
                 _latin1, "accepted", metadata=(("source_encoding", "latin-1"),)),
    BadInputCase("quoted_line_breaks_and_quotes", "order_reviews",
                 "comments with line breaks (LF and CRLF), commas and embedded quotes, correctly quoted",
                 _quoted_breaks_and_quotes, "accepted"),
    BadInputCase("malformed_quotes", "customers", "a bare quote inside a value; text after a closing quote",
                 _malformed_quotes, "quarantined", ("malformed quoting",)),
    BadInputCase("unquoted_separator", "customers", "a city with an unquoted comma (one field too many)",
                 _extra_field, "quarantined", ("fields where the header has",)),
    BadInputCase("timestamps_other_formats", "orders", "ISO 'T' (same instant), day-first, with an offset, epoch",
                 _timestamp_formats, "quarantined", ("cannot parse",)),
    BadInputCase("future_timestamps", "orders", "delivered in 2131, approved in 2130",
                 _future_timestamps, "quarantined", ("is in the future",)),
    BadInputCase("negative_prices", "order_items", "a negative price and a negative freight",
                 _negative_prices, "quarantined", ("below the minimum 0",)),
    BadInputCase("orphan_items", "order_items", "items whose order does not exist",
                 _orphan_items, "quarantined", ("orphan",)),
    BadInputCase("orphan_reviews", "order_reviews", "reviews whose order does not exist (kept, reported)",
                 _orphan_reviews, "accepted", warnings=(("referential_integrity", "orphans: order_id -> orders"),)),
    BadInputCase("rewritten_mid_read", "customers", "the file is rewritten in place while the asset reads it",
                 _rewritten_mid_read, "fails", ("olist_customers_dataset.csv", "changed while it was being read"),
                 rewrite_during_read=True),
]
CASES_BY_NAME = {case.name: case for case in CASES}


# -- the runner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """What became of one case. ``rows_lost`` = source records neither in bronze nor in
    quarantine after a successful run (0 for a refused run whose tables kept their version)."""

    name: str
    table: str
    outcome: Outcome
    passed: bool
    rows_in_source: int
    rows_in_bronze: int
    rows_in_quarantine: int
    rows_lost: int
    healed: bool
    seconds: float
    message: str


@dataclass
class Baseline:
    """A clean landing zone, the bronze lake built from it (table by table, as cases need them;
    see :meth:`ensure`), and the Dagster instance every run of the corpus uses."""

    landing: Path
    lake: Path
    instance: dg.DagsterInstance
    _tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def ensure(self, tables: list[str]) -> None:
        """Materialize the tables (and the bronze tables they read) that are not in the lake yet."""
        needed = set()
        for table in tables:
            needed |= {table, *_reads(table)}
        missing = sorted(t for t in needed if not (self.lake / "bronze" / t / "_delta_log").is_dir())
        if missing:
            result = materialize_bronze_tables(self.lake, self.landing, self.instance, missing)
            if not result.success:
                raise RuntimeError(f"the clean baseline of {missing} did not materialize: {_failure_message(result)}")

    def table(self, layer: str, table: str) -> pl.DataFrame:
        key = f"{layer}/{table}"
        if key not in self._tables:
            self._tables[key] = pl.read_delta(str(self.lake / layer / table))
        return self._tables[key]


def _reads(table: str) -> set[str]:
    """The bronze tables a bronze table's asset reads (orders to place rows, references), transitively."""
    contract = CONTRACTS[table]
    direct = {ref.table for ref in contract.references}
    if contract.placement.name == "PARENT_ORDER":
        direct.add("orders")
    return direct.union(*[_reads(t) for t in direct]) if direct else set()


def lake_resources(lake: Path, landing: Path) -> dict[str, object]:
    """The resources the bronze assets use, on the given folders (polars engine)."""
    from olist_next_assets.defs.resources import LakeResource, LandingZone
    from olist_next_assets.lib.engine import ComputeEngine, LakeIOManager, SparkResource

    compute = ComputeEngine(name="polars", spark=SparkResource())
    return {
        "delta_io_manager": LakeIOManager(root_uri=str(lake), storage_options={"local": {}}, compute=compute),
        "compute": compute,
        "lake": LakeResource(root=str(lake)),
        "landing": LandingZone(root=str(landing)),
    }


def materialize_bronze_tables(
    lake: Path, landing: Path, instance: dg.DagsterInstance, tables: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    """A real materialization of bronze (and quarantine) ``tables`` (all by default), with their
    checks, over every week."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from olist_next_assets.defs import bronze
    from olist_next_assets.defs.partitions import weekly_partitions

    tables = list(CONTRACTS) if tables is None else tables
    selection = [dg.AssetKey([layer, t]) for t in tables for layer in ("bronze", "quarantine")]
    tags = {}
    if any(CONTRACTS[t].partitioned for t in tables):
        keys = weekly_partitions.get_partition_keys()
        tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    assets = [*bronze.defs.assets, *bronze.defs.asset_checks]
    # One "planned" event per asset rather than per week, as `olist-next run` does (pipeline.run_all).
    with mock.patch.dict(os.environ, {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}):
        return dg.materialize(assets, selection=selection, resources=lake_resources(lake, landing),
                              instance=instance, tags=tags, raise_on_error=False)


def build_baseline(workdir: Path, customers: int = 300, seed: int = 7, instance: dg.DagsterInstance | None = None,
                   tables: list[str] | None = None) -> Baseline:
    """Generate a small synthetic release and materialize bronze ``tables`` from it (every table by
    default; ``[]`` for none yet: :func:`run_case` adds what each case needs)."""
    import dagster as dg

    from olist_next_assets.lib.synthetic import generate

    landing, lake = workdir / "landing", workdir / "lake"
    generate(landing, customers=customers, seed=seed)
    baseline = Baseline(landing=landing, lake=lake, instance=instance or dg.DagsterInstance.ephemeral())
    baseline.ensure(list(CONTRACTS) if tables is None else tables)
    return baseline


class _RewriteAfterFirstRead:
    """A file handle that rewrites its file in place after the first chunk has been read."""

    def __init__(self, handle, path: Path, replacement: bytes):
        self._handle, self._path, self._replacement, self._done = handle, path, replacement, False

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        if not self._done:
            self._done = True
            with self._path.open("r+b") as other:
                other.write(self._replacement)
                other.truncate()
        return chunk

    def fileno(self) -> int:
        return self._handle.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()


@contextmanager
def rewritten_during_read(path: Path, replacement: bytes) -> Iterator[None]:
    """Fault injection: while bronze reads ``path`` (in 4 KiB chunks), another writer rewrites it."""
    original = ingest._open_source

    def opener(source: Path):
        handle = original(source)
        return _RewriteAfterFirstRead(handle, source, replacement) if source == path else handle

    with mock.patch.object(ingest, "_open_source", opener), mock.patch.object(ingest, "READ_CHUNK_BYTES", 4096):
        yield


def _private_lake(source: Path, lake: Path, table: str) -> None:
    """A lake where ``table`` (bronze and quarantine) is a private copy and every other table, only
    read, links to the baseline's."""
    for layer in ("bronze", "quarantine"):
        (lake / layer).mkdir(parents=True)
        for other in sorted((source / layer).iterdir()):
            if other.name == table:
                shutil.copytree(other, lake / layer / table)
            else:
                (lake / layer / other.name).symlink_to(other, target_is_directory=True)


def _delta_version(path: Path) -> int | None:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(str(path)).version()
    except TableNotFoundError:
        return None


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _differences(expected: pl.DataFrame, actual: pl.DataFrame, what: str) -> list[str]:
    if actual.height == expected.height and _sorted(actual).equals(_sorted(expected.select(actual.columns))):
        return []
    on = list(actual.columns)
    missing = expected.select(on).join(actual, on=on, how="anti", nulls_equal=True)
    unexpected = actual.join(expected.select(on), on=on, how="anti", nulls_equal=True)
    problems = [f"{what}: {actual.height} rows, {expected.height} expected"]
    problems += [f"{what}: missing {row}" for row in missing.head(3).iter_rows(named=True)]
    problems += [f"{what}: unexpected {row}" for row in unexpected.head(3).iter_rows(named=True)]
    return problems


def _expected_tables(case: BadInputCase, draft: Draft, lines: list[int], base_bronze: pl.DataFrame,
                     base_quarantine: pl.DataFrame):
    """Expected bronze rows and quarantine rows (rows with ``same`` fate), and the lines that must
    be quarantined with their reason fragments."""
    bronze_by_line = {row[SOURCE_LINE_COLUMN]: row for row in base_bronze.iter_rows(named=True)}
    quarantine_by_line = {row[QUARANTINE_LINE]: row for row in base_quarantine.iter_rows(named=True)}
    bronze_rows, quarantine_rows, to_quarantine = [], [], {}
    for origin, expect, line in zip(draft.origin, draft.expect, lines, strict=True):
        clean_line = None if origin is None else draft.clean_lines[origin]
        if expect.kind == "quarantine":
            to_quarantine[line] = expect.reasons
        elif clean_line in quarantine_by_line and expect.kind == "same":
            quarantine_rows.append({**quarantine_by_line[clean_line], QUARANTINE_LINE: line})
        elif clean_line in bronze_by_line:
            bronze_rows.append({**bronze_by_line[clean_line], **dict(expect.values), SOURCE_LINE_COLUMN: line})
        else:
            raise ValueError(f"{case.name}: line {line} has no clean row to compare with")
    bronze = pl.DataFrame(bronze_rows, schema=base_bronze.schema)
    quarantine = pl.DataFrame(quarantine_rows, schema=base_quarantine.schema)
    return bronze, quarantine, to_quarantine


def compare_tables(case: BadInputCase, draft: Draft, lines: list[int], clean: tuple[pl.DataFrame, pl.DataFrame],
                   broken: tuple[pl.DataFrame, pl.DataFrame]) -> list[str]:
    """Problems found in the (bronze, quarantine) tables of the broken file, against the tables of
    the clean file and what the draft says must become of each record (empty: all is well)."""
    expected_bronze, expected_quarantine, to_quarantine = _expected_tables(case, draft, lines, *clean)
    bronze, quarantine = broken
    problems = _differences(expected_bronze, bronze, "bronze")
    flagged = quarantine.filter(pl.col(QUARANTINE_LINE).is_in(list(to_quarantine)))
    reasons = dict(flagged.select(QUARANTINE_LINE, "reason").iter_rows())
    for line, fragments in to_quarantine.items():
        reason = reasons.get(line)
        if reason is None:
            problems.append(f"line {line} is not in quarantine")
        else:
            problems += [f"line {line}: reason {reason!r} lacks {f!r}" for f in fragments if f not in reason]
    for fragment in case.reasons:
        if not any(fragment in reason for reason in reasons.values()):
            problems.append(f"no quarantine reason mentions {fragment!r}")
    if flagged.filter(pl.col("raw_record").is_null() | (pl.col("raw_record").str.len_chars() == 0)).height:
        problems.append("a quarantined record has no raw_record")
    rest = quarantine.filter(~pl.col(QUARANTINE_LINE).is_in(list(to_quarantine)))
    problems += _differences(expected_quarantine, rest, "quarantine")
    lost = len(draft.rows) - bronze.height - quarantine.height
    if lost:
        problems.append(f"{lost} source records are neither in bronze nor in quarantine")
    return problems


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = result.get_step_failure_events()
    if not failures:
        return ""
    error = failures[0].step_failure_data.error
    return str(error.message if error is not None else failures[0].message)


def _check_run(case: BadInputCase, result: dg.ExecuteInProcessResult) -> list[str]:
    """Blocking checks passed, exactly the expected warnings, the expected metadata."""
    import dagster as dg

    if not result.success:
        return [f"the run failed: {_failure_message(result)[:500]}"]
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    problems = [f"blocking check failed: {e.asset_key.to_user_string()} {e.check_name}" for e in failed
                if e.severity == dg.AssetCheckSeverity.ERROR]
    warned = {e.check_name: f"{e.description or ''} {' '.join(e.metadata)}" for e in failed
              if e.severity == dg.AssetCheckSeverity.WARN}
    for check, text in case.warnings:
        if text not in warned.get(check, ""):
            problems.append(f"expected a {check} warning about {text!r}, got {warned.get(check)!r}")
    unexpected = set(warned) - {check for check, _ in case.warnings}
    problems += [f"unexpected warning: {check} {warned[check]}" for check in sorted(unexpected)]
    if case.metadata:
        metadata = result.asset_materializations_for_node(f"bronze_{case.table}")[0].metadata
        for key, value in case.metadata:
            found = metadata.get(key)
            if found is None or found.value != value:
                problems.append(f"metadata {key}: {None if found is None else found.value!r}, expected {value!r}")
    return problems


def ingest_file(path: Path, table: str, order_weeks: pl.DataFrame | None = None) -> ingest.IngestResult:
    """What the bronze asset does with a file, without Dagster or Delta: read and check it as a
    whole, parse it, split it into bronze and quarantine rows over every week."""
    from olist_next_assets.defs.partitions import partition_bounds

    contract = CONTRACTS[table]
    snapshot, header = ingest.read_checked(path, contract)
    parsed = ingest.parse_records(snapshot, header)
    return ingest.ingest(parsed.records, header, contract, path.name,
                         partition_bounds=partition_bounds() if contract.partitioned else None,
                         order_weeks=order_weeks, written_at=snapshot.written_at)


def ingest_case(case: BadInputCase, landing: Path, workdir: Path) -> CaseResult:
    """The case at the ingest level (the functions the asset calls, in memory): fast feedback.
    The Dagster materialization, the Delta versions and the healing rerun are :func:`run_case`'s."""
    started = time.perf_counter()
    folder = workdir / case.name
    folder.mkdir(parents=True, exist_ok=True)
    order_weeks = None
    if CONTRACTS[case.table].placement.name == "PARENT_ORDER":
        order_weeks = ingest_file(landing / CONTRACTS["orders"].source_file, "orders").bronze.select("order_id", "week")
    clean_result = ingest_file(landing / case.source_file, case.table, order_weeks)
    clean = (landing / case.source_file).read_bytes()
    data, draft, lines = case.build(clean)
    path = folder / case.source_file
    path.write_bytes(data)
    source_rows = 0 if draft.empty else len(draft.rows)
    try:
        if case.rewrite_during_read:
            with rewritten_during_read(path, clean + clean[clean.index(b"\n") + 1:]):
                result = ingest_file(path, case.table, order_weeks)
        else:
            result = ingest_file(path, case.table, order_weeks)
    except (ingest.ContractViolation, ingest.SourceChanged) as error:
        message = str(error)
        problems = [] if case.outcome == "fails" else [f"refused: {message}"]
        problems += [f"the message lacks {f!r}: {message!r}" for f in case.reasons
                     if case.outcome == "fails" and f not in message]
        return CaseResult(case.name, case.table, case.outcome, not problems, source_rows, 0, 0, 0, False,
                          round(time.perf_counter() - started, 3), "; ".join(problems) or message)
    if case.outcome == "fails":
        problems = ["the file was accepted; it should have been refused"]
    else:
        problems = compare_tables(case, draft, lines, (clean_result.bronze, clean_result.quarantine),
                                  (result.bronze, result.quarantine))
    bronze, quarantine = result.bronze.height, result.quarantine.height
    return CaseResult(case.name, case.table, case.outcome, not problems, source_rows, bronze, quarantine,
                      source_rows - bronze - quarantine, False, round(time.perf_counter() - started, 3),
                      "; ".join(problems) or "ok")


def run_case(case: BadInputCase, baseline: Baseline, workdir: Path) -> CaseResult:
    """Break one export, materialize bronze on it, check the outcome, then heal and check again."""
    started = time.perf_counter()
    baseline.ensure([case.table])
    root = workdir / case.name
    if root.exists():
        shutil.rmtree(root)
    landing, lake = root / "landing", root / "lake"
    shutil.copytree(baseline.landing, landing, ignore=shutil.ignore_patterns("_synthetic"))
    _private_lake(baseline.lake, lake, case.table)
    path = landing / case.source_file
    clean = path.read_bytes()
    data, draft, lines = case.build(clean)
    path.write_bytes(data)
    versions = {layer: _delta_version(lake / layer / case.table) for layer in ("bronze", "quarantine")}

    if case.rewrite_during_read:
        with rewritten_during_read(path, clean + clean[clean.index(b"\n") + 1:]):
            result = materialize_bronze_tables(lake, landing, baseline.instance, [case.table])
    else:
        result = materialize_bronze_tables(lake, landing, baseline.instance, [case.table])

    source_rows = len(draft.rows) if not draft.empty else 0
    if case.outcome == "fails":
        message = _failure_message(result)
        problems = [] if not result.success else ["the run succeeded; it should have failed"]
        problems += [f"the failure message lacks {f!r}: {message[:300]!r}" for f in case.reasons if f not in message]
        now = {layer: _delta_version(lake / layer / case.table) for layer in ("bronze", "quarantine")}
        problems += [f"{layer}/{case.table} moved from version {versions[layer]} to {now[layer]}"
                     for layer in now if now[layer] != versions[layer]]
        bronze = pl.read_delta(str(lake / "bronze" / case.table))
        quarantine = pl.read_delta(str(lake / "quarantine" / case.table))
        problems += _differences(baseline.table("bronze", case.table), bronze, "bronze after the failed run")
        lost = 0
    else:
        bronze = pl.read_delta(str(lake / "bronze" / case.table))
        quarantine = pl.read_delta(str(lake / "quarantine" / case.table))
        problems = _check_run(case, result)
        if result.success:
            clean_tables = (baseline.table("bronze", case.table), baseline.table("quarantine", case.table))
            problems += compare_tables(case, draft, lines, clean_tables, (bronze, quarantine))
        lost = source_rows - bronze.height - quarantine.height
        message = ""

    # The corrected rerun: the clean export again heals both tables.
    path.write_bytes(clean)
    healed_run = materialize_bronze_tables(lake, landing, baseline.instance, [case.table])
    healed = healed_run.success
    for layer in ("bronze", "quarantine"):
        after = pl.read_delta(str(lake / layer / case.table))
        differences = _differences(baseline.table(layer, case.table), after, f"{layer} after the corrected rerun")
        healed = healed and not differences
        problems += differences
    if not healed_run.success:
        problems.append(f"the corrected rerun failed: {_failure_message(healed_run)[:300]}")

    shutil.rmtree(root, ignore_errors=True)
    return CaseResult(
        name=case.name,
        table=case.table,
        outcome=case.outcome,
        passed=not problems,
        rows_in_source=source_rows,
        rows_in_bronze=bronze.height,
        rows_in_quarantine=quarantine.height,
        rows_lost=lost,
        healed=healed,
        seconds=round(time.perf_counter() - started, 2),
        message="; ".join(problems) if problems else (message or "ok"),
    )


def run_corpus(workdir: Path, cases: list[BadInputCase] | None = None, customers: int = 300,
               seed: int = 7) -> list[CaseResult]:
    """Every case (or ``cases``) against one clean baseline built in ``workdir`` (the tables each
    case needs, as it comes)."""
    baseline = build_baseline(workdir / "baseline", customers=customers, seed=seed, tables=[])
    return [run_case(case, baseline, workdir / "cases") for case in (cases or CASES)]


def summary(results: list[CaseResult]) -> dict[str, int]:
    """Cases tried and passed, and rows lost over all cases (must be 0)."""
    return {
        "cases_tried": len(results),
        "cases_passed": sum(r.passed for r in results),
        "rows_lost": sum(r.rows_lost for r in results),
    }


__all__ = [
    "CASES",
    "CASES_BY_NAME",
    "BadInputCase",
    "Baseline",
    "CaseResult",
    "Draft",
    "Expect",
    "build_baseline",
    "compare_tables",
    "ingest_case",
    "ingest_file",
    "materialize_bronze_tables",
    "run_case",
    "run_corpus",
    "summary",
]

