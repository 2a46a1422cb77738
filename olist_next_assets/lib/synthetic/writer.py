"""CSV files in the style of the real release, written by polars without Python row loops.

The release's quirks are reproduced because the ingestion layer must survive them: every
header field is quoted; an id is quoted when it starts with a digit (as pandas-era exports did),
except in the reviews file where all ids are quoted; zip prefixes are always quoted ("04195");
text is quoted only when it holds a comma, a quote or a line break; money has two decimals;
timestamps are bare ``YYYY-MM-DD HH:MM:SS``. Line endings are LF, except the reviews file
(CRLF, like its embedded line breaks) and the translation table (UTF-8 BOM, CRLF, unquoted
header, no final newline). Every field is preformatted to a string and written with
``quote_style="never"``, so no polars default decides a byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl

Kind = Literal["id", "quoted_id", "zip", "text", "plain", "int", "money", "timestamp", "float"]


@dataclass(frozen=True)
class TableSpec:
    """A release file: its name, its columns (in order) with their formatting, its line end."""

    file: str
    columns: tuple[tuple[str, Kind], ...]
    line_terminator: str = "\n"

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


TABLES: dict[str, TableSpec] = {
    "customers": TableSpec(
        "olist_customers_dataset.csv",
        (("customer_id", "id"), ("customer_unique_id", "id"), ("customer_zip_code_prefix", "zip"),
         ("customer_city", "plain"), ("customer_state", "plain")),
    ),
    "geolocation": TableSpec(
        "olist_geolocation_dataset.csv",
        (("geolocation_zip_code_prefix", "zip"), ("geolocation_lat", "float"), ("geolocation_lng", "float"),
         ("geolocation_city", "plain"), ("geolocation_state", "plain")),
    ),
    "order_items": TableSpec(
        "olist_order_items_dataset.csv",
        (("order_id", "id"), ("order_item_id", "int"), ("product_id", "id"), ("seller_id", "id"),
         ("shipping_limit_date", "timestamp"), ("price", "money"), ("freight_value", "money")),
    ),
    "order_payments": TableSpec(
        "olist_order_payments_dataset.csv",
        (("order_id", "id"), ("payment_sequential", "int"), ("payment_type", "plain"),
         ("payment_installments", "int"), ("payment_value", "money")),
    ),
    "order_reviews": TableSpec(
        "olist_order_reviews_dataset.csv",
        (("review_id", "quoted_id"), ("order_id", "quoted_id"), ("review_score", "int"),
         ("review_comment_title", "text"), ("review_comment_message", "text"),
         ("review_creation_date", "timestamp"), ("review_answer_timestamp", "timestamp")),
        line_terminator="\r\n",
    ),
    "orders": TableSpec(
        "olist_orders_dataset.csv",
        (("order_id", "id"), ("customer_id", "id"), ("order_status", "plain"),
         ("order_purchase_timestamp", "timestamp"), ("order_approved_at", "timestamp"),
         ("order_delivered_carrier_date", "timestamp"), ("order_delivered_customer_date", "timestamp"),
         ("order_estimated_delivery_date", "timestamp")),
    ),
    "products": TableSpec(
        "olist_products_dataset.csv",
        (("product_id", "id"), ("product_category_name", "plain"), ("product_name_lenght", "int"),
         ("product_description_lenght", "int"), ("product_photos_qty", "int"), ("product_weight_g", "int"),
         ("product_length_cm", "int"), ("product_height_cm", "int"), ("product_width_cm", "int")),
    ),
    "sellers": TableSpec(
        "olist_sellers_dataset.csv",
        (("seller_id", "id"), ("seller_zip_code_prefix", "zip"), ("seller_city", "plain"),
         ("seller_state", "plain")),
    ),
}
TRANSLATION_FILE = "product_category_name_translation.csv"
TRANSLATION_HEADER = ("product_category_name", "product_category_name_english")


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.lit('"') + expr + pl.lit('"')


def _format(name: str, kind: Kind) -> pl.Expr:
    col = pl.col(name)
    match kind:
        case "id":
            return pl.when(col.str.contains(r"^[0-9]")).then(_quoted(col)).otherwise(col)
        case "quoted_id":
            return _quoted(col)
        case "zip":
            return _quoted(col.cast(pl.String).str.zfill(5))
        case "text":
            escaped = _quoted(col.str.replace_all('"', '""', literal=True))
            return pl.when(col.str.contains(r'[,"\r\n]')).then(escaped).otherwise(col)
        case "plain":
            return col
        case "int" | "float":
            return col.cast(pl.String)
        case "money":
            return col.floordiv(100).cast(pl.String) + pl.lit(".") + col.mod(100).cast(pl.String).str.zfill(2)
        case "timestamp":
            return pl.from_epoch(col, time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")


class CsvTable:
    """One release file open for appending chunks of raw (typed, unformatted) rows."""

    def __init__(self, out_dir: Path, spec: TableSpec) -> None:
        self.spec = spec
        self.path = out_dir / spec.file
        self.rows = 0
        self._exprs = [_format(name, kind).alias(name) for name, kind in spec.columns]
        self._fh: BinaryIO = self.path.open("wb")
        header = ",".join(f'"{name}"' for name in spec.header) + spec.line_terminator
        self._fh.write(header.encode())

    def append(self, raw: pl.DataFrame) -> None:
        raw.select(self._exprs).write_csv(
            self._fh, include_header=False, quote_style="never", line_terminator=self.spec.line_terminator
        )
        self.rows += raw.height

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_translation(out_dir: Path, pairs: list[tuple[str, str]]) -> Path:
    """The translation table byte-for-byte in the release's style (BOM, CRLF, no final newline)."""
    path = out_dir / TRANSLATION_FILE
    lines = [",".join(TRANSLATION_HEADER), *(f"{pt},{en}" for pt, en in pairs)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    return path
