"""Bronze parsing on both engines: the same source files give the same bronze rows, quarantine rows
and counts (exact for keys, text, times and counts; floats within 1e-9).

The files are the generated release with planted records in every one of the nine: values each
type parser must accept or refuse (listed edge cases plus seeded random ones), missing required
values, quoted and unquoted empty strings, quoted line breaks and doubled quotes, duplicate keys
(also keys equal only once typed), orphan orders, weeks outside the partitions, events in the
future, an unknown column to rescue, blank lines, CRLF and LF line endings, a BOM, no final line
break, a Latin-1 export, and a file with broken records (which Spark leaves to the specification's
record splitter).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import random
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from olist_next_assets.lib import ingest as spec
from olist_next_assets.lib.contracts import CONTRACTS, TIMESTAMP, Contract, Placement
from olist_next_assets.lib.spark import ingest as twin
from olist_next_tests.spark.parity import FLOAT_TOLERANCE

BOUNDS = (dt.date(2016, 8, 29), dt.date(2018, 10, 22))
WINDOW = (dt.date(2017, 6, 5), dt.date(2017, 7, 3))
ORDER = ["orders", *[t for t in CONTRACTS if t != "orders"]]  # orders place the items, payments
COUNTS = ("source_records", "bronze_in_window", "bronze_other_weeks", "quarantined", "quarantined_unplaced")

INTEGERS = ["12", " 12 ", "+12", "-0", "012", "0", "-1", "12.0", "1e3", "1_000", "0x10", "nan", "", "  ", "1.5",
            "2147483647", "2147483648", "-2147483649", "9223372036854775808", "00000000000000000000001", "+-1",
            "--1", "+", "-", "1 2", "\u00a012\u00a0", "12\t", "\u0661\u0662", "\x0012", "\u200b12"]
FLOATS = ["12", "58.90", "1e3", "1E+3", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-INFINITY", "+inf", ".5",
          "5.", "+5", "-.5", "-0.0", "1e400", "4.9e-324", "1.7976931348623157e308", "0.1", "1d", "1f", "0x1p3",
          "1,5", "1_0", " 3 ", "0.1e", "e5", "--5", "-1", "91", "-91", "181", "-181", "inf inity", "."]
TIMESTAMPS = ["2017-10-02 10:56:33", "2017-1-2 3:4:5", "2017-10-02T10:56:33", "2017-10-02", "2016-02-29",
              "2017-02-29", "2017-10-02 10:56:33.1", "2017-10-02 10:56:33.123456789", "2017-10-02 10:56:33.1234567891",
              "2017-10-02 10:56:33.", "2017-10-02T10:56:33.5", "2017-10-02 24:00:00", "2017-10-02 23:59:60",
              "2017-10-02 10:30:60.5", "2017-10-02 10:30:61", "2017-10-02  10:56:33", "2017-10-0210:56:33",
              "2017-10-02\t10:56:33", "2017- 10-02", "2017-10-02 10: 56:33", " 2017-10-02 ", "2017/10/02",
              "02/10/2017", "2017-10-02 10:56", "2017-10-02Z", "2017-10-02 10:56:33+00:00", "017-10-02",
              "20170-10-02", "+2017-10-02", "2017-001-02", "2017-10-02 003:04:05", "not a date", "", "1969-12-31 23:59:59.5",
              "-0017-01-02", "0000-01-02 12:00:00", "+20170-01-02", "0001-01-01", "9999-12-31 23:59:59.999999"]
TEXTS = [None, "", "  ", "multi\nline", "crlf\r\nline", "lone\rcr", 'say "hi"', "comma, inside", " padded ",
         "São Paulo, ção 😀", "x" * 60, "\u00e9" * 45, "tab\there"]
RESCUED = [None, "", "BLACKFRIDAY", 'quote " and \\ backslash', "line\nbreak", "ctl \x01 \x1f \x7f", "é 😀", "\u2028"]


# -- planting records in a release --------------------------------------------------------------


def _fuzz(rng: random.Random, alphabet: str, count: int, length: int = 6) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, length))) for _ in range(count)]


def _fuzz_timestamps(rng: random.Random, count: int) -> list[str]:
    found = []
    for _ in range(count):
        text = list(rng.choice(["2017-10-02 10:56:33", "2017-10-02T10:56:33", "2017-10-02", "2018-02-28 23:59:60.25"]))
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(text))
            choice = rng.choice("0123456789-: T.")
            if rng.random() < 0.5:
                text[at] = choice
            else:
                text.insert(at, choice)
        found.append("".join(text))
    return found


def _values(dtype: pl.DataType, rng: random.Random) -> list[str | None]:
    if dtype == TIMESTAMP:
        return TIMESTAMPS + _fuzz_timestamps(rng, 60)
    if dtype.is_integer():
        return INTEGERS + _fuzz(rng, "0123456789+-. e", 40)
    if dtype.is_float():
        return FLOATS + _fuzz(rng, "0123456789.+-eEinfatyIN", 40)
    return TEXTS


def _fresh_key(contract: Contract, row: dict[str, str | None], n: int) -> None:
    """Make the row's primary key new (keeping the order of rows placed by order)."""
    for key in contract.primary_key:
        if contract.placement is Placement.PARENT_ORDER and key == "order_id":
            continue
        row[key] = str(100 + n) if key in ("order_item_id", "payment_sequential") else f"{row[key]}-p{n}"
        return


def _encode(value: str | None, rng: random.Random) -> str:
    if value is None:
        return ""  # unquoted empty: null
    if value == "" or any(c in value for c in '",\r\n') or rng.random() < 0.3:
        return '"' + value.replace('"', '""') + '"'  # "" is the empty string
    return value


def plant(path: Path, contract: Contract, seed: int, *, crlf: bool | None = None, extra: bool = True,
          final_newline: bool = True, encoding: str = "utf-8", broken: bool = False) -> None:
    """Rewrite a generated source file with planted records spread through it."""
    rng = random.Random(seed)
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    crlf = raw.split(b"\n", 1)[0].endswith(b"\r") if crlf is None else crlf
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    # The csv module reads an unquoted empty field as "": take it back as the null it was.
    header, body = rows[0], [{c: v or None for c, v in zip(rows[0], r)} for r in rows[1:]]
    planted: list[dict[str, str | None]] = []
    n = 0
    for column in contract.columns:
        for value in _values(column.dtype, rng):
            row = dict(rng.choice(body))
            if column.name not in contract.primary_key:
                _fresh_key(contract, row, n := n + 1)
            row[column.name] = value
            planted.append(row)
    planted += [dict(rng.choice(body)) for _ in range(5)]  # repeats of generated records
    first = dict(rng.choice(body))
    _fresh_key(contract, first, n := n + 1)
    planted += [first | {contract.columns[-1].name: "not valid"}, first, first | {}]  # the valid one wins
    if contract.placement is Placement.PARENT_ORDER:
        planted += [dict(rng.choice(body)) | {"order_id": f"orphan-{i}"} for i in range(3)]
    if contract.placement is Placement.OWN_TIMESTAMP:
        for when in ("2015-06-01 00:00:00", "2019-01-07 00:00:00", "2031-01-01 00:00:00"):
            row = dict(rng.choice(body))
            _fresh_key(contract, row, n := n + 1)
            planted.append(row | {contract.week_source: when})
    columns = header + (["coupon_code"] if extra else [])
    records = [[_encode(r.get(c, rng.choice(RESCUED)), rng) for c in columns] for r in body]
    for row in planted:
        records.insert(rng.randrange(len(records) + 1), [_encode(row.get(c, rng.choice(RESCUED)), rng)
                                                         for c in columns])
    lines = [",".join(_encode(c, rng) for c in columns), *[",".join(r) for r in records]]
    if broken:  # records only the specification's splitter can take apart
        lines[1:1] = [lines[1] + ',"an extra field"', 'a "stray" quote,' + lines[2]]
    for _ in range(3):
        lines.insert(rng.randrange(2, len(lines)), "")  # blank lines: all-null records for polars
    sep = "\r\n" if crlf else "\n"
    text = sep.join(lines) + (sep + sep if final_newline else "")  # and a blank last line
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding, errors="replace"))


@pytest.fixture(scope="module")
def landing(small_landing, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("planted")
    for source in small_landing.glob("*.csv"):
        shutil.copy(source, folder / source.name)
    options = {
        "customers": {"crlf": True},
        "sellers": {"encoding": "latin-1", "extra": False},
        "products": {"broken": True},
        "category_translation": {"final_newline": False},
    }
    for seed, (table, contract) in enumerate(CONTRACTS.items()):
        plant(folder / contract.source_file, contract, seed, **options.get(table, {}))
    return folder


# -- running both engines ------------------------------------------------------------------------


@dataclasses.dataclass
class Source:
    """One file as both engines read it, and how to split it on each."""

    contract: Contract
    header: spec.SourceHeader
    written_at: dt.datetime
    polars_records: pl.DataFrame
    spark_records: object
    spark_reader: tuple[str, str]  # (parser, encoding)

    def split(self, engine: str, orders=None, window=None):
        by_order = self.contract.placement is Placement.PARENT_ORDER
        options = {"window": window, "partition_bounds": BOUNDS if self.contract.partitioned else None,
                   "order_weeks": orders if by_order else None, "written_at": self.written_at}
        if engine == "polars":
            return spec.ingest(self.polars_records, self.header, self.contract, self.contract.source_file, **options)
        return twin.ingest(self.spark_records.sparkSession, self.spark_records, self.header, self.contract,
                           self.contract.source_file, **options)


def read(spark, landing: Path, contract: Contract) -> Source:
    snapshot = spec.read_snapshot(landing / contract.source_file)
    header = spec.check_header(snapshot, contract)
    parsed = twin.parse_records(spark, snapshot, header)
    return Source(contract, header, snapshot.written_at, spec.read_records(snapshot, header), parsed.records,
                  (parsed.parser, parsed.encoding))


def collect(frame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())


@pytest.fixture(scope="module")
def results(spark, landing):
    """Per table: (source, polars result, Spark result, Spark bronze, Spark quarantine); the orders' weeks."""
    found, orders = {}, {}
    for table in ORDER:
        source = read(spark, landing, CONTRACTS[table])
        polars_result, spark_result = source.split("polars", orders.get("polars")), source.split("spark", orders.get("spark"))
        if table == "orders":
            orders = {"polars": polars_result.bronze.select("order_id", "week"),
                      "spark": spark_result.bronze.select("order_id", "week")}
        found[table] = (source, polars_result, spark_result, collect(spark_result.bronze),
                        collect(spark_result.quarantine))
    return found, orders


def assert_same_rows(expected: pl.DataFrame, actual: pl.DataFrame, line: str, what: str) -> None:
    assert actual.schema == expected.schema, what
    assert_frame_equal(expected.sort(line), actual.sort(line), check_exact=False, abs_tol=FLOAT_TOLERANCE,
                       rel_tol=0.0)


@pytest.mark.parametrize("table", ORDER)
def test_both_engines_give_the_same_bronze_quarantine_and_counts(results, table):
    _, polars_result, spark_result, bronze, quarantine = results[0][table]
    assert_same_rows(polars_result.bronze, bronze, "_source_line", f"bronze {table}")
    assert_same_rows(polars_result.quarantine, quarantine, "source_line", f"quarantine {table}")
    counts = {name: getattr(polars_result, name) for name in COUNTS}
    assert {name: getattr(spark_result, name) for name in COUNTS} == counts
    assert spark_result.accounted == spark_result.source_records
    assert spark_result.reasons() == polars_result.reasons()


def test_the_planted_records_reach_every_rule(results):
    """The comparison above is only as good as the files: every rule fired, both readers ran."""
    found, _ = results
    for _, polars_result, *_ in found.values():
        assert polars_result.quarantine.height > 0 and polars_result.bronze.height > 0
    reasons = pl.concat([r[1].quarantine for r in found.values()])["reason"]
    for fragment in ("cannot parse", "required value is missing", "below the minimum", "above the maximum",
                     "in the future", "is outside the partitions", "has no order in bronze orders",
                     "duplicate primary key", "malformed quoting", "fields where the header has"):
        assert reasons.str.contains(fragment, literal=True).any(), fragment
    assert found["orders"][1].bronze["_rescued_data"].drop_nulls().len() > 0
    readers = {table: source.spark_reader for table, (source, *_) in found.items()}
    assert {table: reader for table, reader in readers.items() if reader != ("spark", "utf-8")} == {
        "products": ("polars", "utf-8"), "sellers": ("spark", "latin-1")}


def test_a_week_window_splits_the_same_way(results):
    found, orders = results
    for table in ("orders", "order_items"):
        source = found[table][0]
        polars_result = source.split("polars", orders["polars"], window=WINDOW)
        spark_result = source.split("spark", orders["spark"], window=WINDOW)
        assert 0 < polars_result.bronze_in_window < polars_result.bronze_in_window + polars_result.bronze_other_weeks
        assert_same_rows(polars_result.bronze, collect(spark_result.bronze), "_source_line", table)
        assert {name: getattr(spark_result, name) for name in COUNTS} == \
            {name: getattr(polars_result, name) for name in COUNTS}


# -- the layout scan that decides which reader splits a file ---------------------------------------

LAYOUTS = {  # file text -> the blank lines Spark must add back, or None: the specification splits the file
    'a,b,c\n1,,""\n2,"",\n': (),
    'a,b,c\r\n1,"x\r\ny",z\r\n2,"a\r\n\r\nb",q\r\n\r\n': (7,),
    'a,b,c\n1,"x\r\ny",z\n\n2,"x\ry",q\n   \n\n': (4, 7),
    'a,b,c\n1,p\n2,"multi\n\nline",s\n': (),
    'a,"b, c"\n"1","2"\n,\n': (),
    'a,b,c\n1,"Nota ""dez""",""""\n2,p,q': (),
    'a\n\n1\n""\n2\n\n': (2, 6),
    'a,b,c\n1,p,q,EXTRA\n': None,  # more fields than the header
    'a,b,c\n1,5 "inch" tv,q\n': None,  # a quote inside an unquoted value
    'a,b,c\n1,"x" ,q\n': None,  # text after a closing quote
    'a,b,c\n1,"p,q\n2,r,s\n': None,  # a quote never closed
    'a,b,c\n1,p,q\n2,r': None,  # the last record cut short
    'a,b,c\n1,p,q\r\n2,r,s\n': None,  # CRLF in an LF file
    'a,b,c\r\n1,p,q\n2,r,s\r\n': None,  # LF in a CRLF file
    'a,b,c\n1,p\rq,s\n': None,  # a bare CR
}


@pytest.mark.parametrize("text", LAYOUTS)
def test_the_layout_scan_proves_the_easy_files_and_leaves_the_rest(text, tmp_path):
    data = text.encode()
    header = spec.SourceHeader(next(csv.reader([text.split("\n")[0].rstrip("\r")])), [], [])
    layout = twin.scan_layout(data, len(header.columns))
    expected = LAYOUTS[text]
    assert (layout.blank_lines if layout else None) == expected
    if layout is not None:  # what polars reads: as many records, all-null ones on the blank lines
        path = tmp_path / "file.csv"
        path.write_bytes(data)
        records = spec.read_records(path, header)
        assert records.height == layout.records and records[spec.MALFORMED].null_count() == records.height
        empty = records.filter(pl.all_horizontal(pl.col(header.columns).is_null()))["_source_line"].to_list()
        assert set(layout.blank_lines) <= set(empty)
        assert all(data.split(b"\n")[line - 1] in (b"", b"\r") for line in layout.blank_lines)
    for chunk in (1, 5, 16):  # the same answer in chunks of whole lines
        assert twin.scan_layout(data, len(header.columns), chunk_bytes=chunk) == layout


def test_the_layout_scan_reads_the_planted_files_the_same_way_in_chunks(landing):
    for contract in CONTRACTS.values():
        data, _ = spec._decode((landing / contract.source_file).read_bytes())
        width = len(spec.check_header(landing / contract.source_file, contract).columns)
        assert twin.scan_layout(data, width, chunk_bytes=4096) == twin.scan_layout(data, width), contract.table


def test_a_file_changed_after_its_snapshot_is_refused(spark, tmp_path):
    path = tmp_path / "product_category_name_translation.csv"
    path.write_text("product_category_name,product_category_name_english\nartes,art\n")
    snapshot = spec.read_snapshot(path)
    header = spec.check_header(snapshot, CONTRACTS["category_translation"])
    path.write_text("product_category_name,product_category_name_english\nartes,art\nbebes,baby\n")
    with pytest.raises(spec.SourceChanged, match="product_category_name_translation.csv: the file changed"):
        twin.parse_records(spark, snapshot, header)
