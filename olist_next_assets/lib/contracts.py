"""Data contracts of the nine Olist source tables: the one place that says what a valid row is.

Each contract lists the source file, its columns in the release's order with type, nullability
and value bounds, the primary key, and how a row is placed in a weekly partition. Ingestion
(:mod:`olist_next_assets.lib.ingest`) derives parsing and quarantine rules from it, and
:func:`pandera_schema` derives the pandera (polars backend) schema that the
``contract_conformance`` check validates bronze tables against.

Choices that follow the real release:
* ids and zip-code prefixes stay strings (prefixes keep their leading zeros);
* source timestamps carry no zone; they are read as UTC, the zone of the weekly partitions;
* review ``review_id`` repeats across orders in the real data, so its key is (review_id, order_id);
* geolocation has no key (the release repeats identical rows), so it has no uniqueness rule.
* event timestamps (purchase, approval, hand-over, delivery, review) cannot be later than the
  file they come in (``past_only``); estimated delivery and shipping limit dates may lie ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pandera.polars as pa
import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")
WEEK_COLUMN = "week"
RESCUED_COLUMN = "_rescued_data"
SOURCE_FILE_COLUMN = "_source_file"
SOURCE_LINE_COLUMN = "_source_line"


class Placement(Enum):
    """How a row of an event table finds its weekly partition."""

    NONE = "unpartitioned"  # dimension table
    OWN_TIMESTAMP = "own timestamp"  # week of one of the row's own timestamps
    PARENT_ORDER = "order purchase week"  # week of the order the row belongs to


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    nullable: bool = True
    min_value: float | None = None
    max_value: float | None = None
    past_only: bool = False
    """An event that had happened when the file was written: a later value is quarantined
    (estimated or limit dates may lie ahead and keep this False)."""


@dataclass(frozen=True)
class Reference:
    """A foreign key reported by the referential-integrity check (not enforced in bronze)."""

    column: str
    table: str
    target_column: str


@dataclass(frozen=True)
class Contract:
    table: str
    source_file: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    placement: Placement = Placement.NONE
    week_source: str | None = None  # timestamp column (OWN_TIMESTAMP) or order_id (PARENT_ORDER)
    references: tuple[Reference, ...] = field(default=())
    description: str = ""

    @property
    def partitioned(self) -> bool:
        return self.placement is not Placement.NONE

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]

    def bronze_schema(self) -> pl.Schema:
        """Schema of the bronze Delta table: contract columns, lineage columns, rescued data."""
        schema = {c.name: c.dtype for c in self.columns}
        if self.partitioned:
            schema[WEEK_COLUMN] = pl.Date()
        schema[RESCUED_COLUMN] = pl.String()
        schema[SOURCE_FILE_COLUMN] = pl.String()
        schema[SOURCE_LINE_COLUMN] = pl.Int64()
        return pl.Schema(schema)


def _id(name: str, nullable: bool = False) -> Column:
    return Column(name, pl.String(), nullable=nullable)


def _text(name: str, nullable: bool = True) -> Column:
    return Column(name, pl.String(), nullable=nullable)


def _int(name: str, nullable: bool = True, min_value: float | None = 0, max_value: float | None = None) -> Column:
    return Column(name, pl.Int32(), nullable=nullable, min_value=min_value, max_value=max_value)


def _money(name: str) -> Column:
    return Column(name, pl.Float64(), nullable=False, min_value=0)


def _ts(name: str, nullable: bool = True, past_only: bool = False) -> Column:
    return Column(name, TIMESTAMP, nullable=nullable, past_only=past_only)


ORDERS = Contract(
    table="orders",
    source_file="olist_orders_dataset.csv",
    description="One row per order: status and the purchase-to-delivery timeline.",
    columns=(
        _id("order_id"),
        _id("customer_id"),
        _text("order_status", nullable=False),
        _ts("order_purchase_timestamp", nullable=False, past_only=True),
        _ts("order_approved_at", past_only=True),
        _ts("order_delivered_carrier_date", past_only=True),
        _ts("order_delivered_customer_date", past_only=True),
        _ts("order_estimated_delivery_date", nullable=False),
    ),
    primary_key=("order_id",),
    placement=Placement.OWN_TIMESTAMP,
    week_source="order_purchase_timestamp",
    references=(Reference("customer_id", "customers", "customer_id"),),
)

ORDER_ITEMS = Contract(
    table="order_items",
    source_file="olist_order_items_dataset.csv",
    description="One row per item of an order, with its product, seller, price and freight.",
    columns=(
        _id("order_id"),
        _int("order_item_id", nullable=False, min_value=1),
        _id("product_id"),
        _id("seller_id"),
        _ts("shipping_limit_date", nullable=False),
        _money("price"),
        _money("freight_value"),
    ),
    primary_key=("order_id", "order_item_id"),
    placement=Placement.PARENT_ORDER,
    week_source="order_id",
    references=(
        Reference("product_id", "products", "product_id"),
        Reference("seller_id", "sellers", "seller_id"),
    ),
)

ORDER_PAYMENTS = Contract(
    table="order_payments",
    source_file="olist_order_payments_dataset.csv",
    description="One row per payment of an order (several for split or voucher payments).",
    columns=(
        _id("order_id"),
        _int("payment_sequential", nullable=False, min_value=1),
        _text("payment_type", nullable=False),
        _int("payment_installments", nullable=False, min_value=0),
        _money("payment_value"),
    ),
    primary_key=("order_id", "payment_sequential"),
    placement=Placement.PARENT_ORDER,
    week_source="order_id",
)

ORDER_REVIEWS = Contract(
    table="order_reviews",
    source_file="olist_order_reviews_dataset.csv",
    description="Customer reviews: 1-5 score, optional Portuguese title and comment.",
    columns=(
        _id("review_id"),
        _id("order_id"),
        _int("review_score", nullable=False, min_value=1, max_value=5),
        _text("review_comment_title"),
        _text("review_comment_message"),
        _ts("review_creation_date", nullable=False, past_only=True),
        _ts("review_answer_timestamp", past_only=True),
    ),
    primary_key=("review_id", "order_id"),
    placement=Placement.OWN_TIMESTAMP,
    week_source="review_creation_date",
    references=(Reference("order_id", "orders", "order_id"),),
)

CUSTOMERS = Contract(
    table="customers",
    source_file="olist_customers_dataset.csv",
    description="One row per order-level customer_id, mapped to the person (customer_unique_id).",
    columns=(
        _id("customer_id"),
        _id("customer_unique_id"),
        _text("customer_zip_code_prefix"),
        _text("customer_city"),
        _text("customer_state"),
    ),
    primary_key=("customer_id",),
)

GEOLOCATION = Contract(
    table="geolocation",
    source_file="olist_geolocation_dataset.csv",
    description="Zip-code prefixes with coordinates (repeated rows, as in the release).",
    columns=(
        _text("geolocation_zip_code_prefix", nullable=False),
        Column("geolocation_lat", pl.Float64(), nullable=False, min_value=-90, max_value=90),
        Column("geolocation_lng", pl.Float64(), nullable=False, min_value=-180, max_value=180),
        _text("geolocation_city"),
        _text("geolocation_state"),
    ),
)

PRODUCTS = Contract(
    table="products",
    source_file="olist_products_dataset.csv",
    description="Products with their Portuguese category and physical attributes.",
    columns=(
        _id("product_id"),
        _text("product_category_name"),
        _int("product_name_lenght"),  # sic: the release's spelling
        _int("product_description_lenght"),
        _int("product_photos_qty"),
        _int("product_weight_g"),
        _int("product_length_cm"),
        _int("product_height_cm"),
        _int("product_width_cm"),
    ),
    primary_key=("product_id",),
)

SELLERS = Contract(
    table="sellers",
    source_file="olist_sellers_dataset.csv",
    description="Marketplace sellers and where they ship from.",
    columns=(
        _id("seller_id"),
        _text("seller_zip_code_prefix"),
        _text("seller_city"),
        _text("seller_state"),
    ),
    primary_key=("seller_id",),
)

CATEGORY_TRANSLATION = Contract(
    table="category_translation",
    source_file="product_category_name_translation.csv",
    description="Portuguese product category -> English name (the release lacks 2 categories).",
    columns=(
        _id("product_category_name"),
        _text("product_category_name_english", nullable=False),
    ),
    primary_key=("product_category_name",),
)

CONTRACTS: dict[str, Contract] = {
    c.table: c
    for c in (
        ORDERS,
        ORDER_ITEMS,
        ORDER_PAYMENTS,
        ORDER_REVIEWS,
        CUSTOMERS,
        GEOLOCATION,
        PRODUCTS,
        SELLERS,
        CATEGORY_TRANSLATION,
    )
}
SOURCE_FILES = {c.source_file: c for c in CONTRACTS.values()}


def pandera_schema(contract: Contract) -> pa.DataFrameSchema:
    """The contract as a pandera (polars backend) schema over the bronze table.

    Key uniqueness is not repeated here: the ``primary_key_unique`` check owns that property.
    """
    columns: dict[str, pa.Column] = {}
    for col in contract.columns:
        checks = []
        if col.min_value is not None:
            checks.append(pa.Check.ge(col.min_value))
        if col.max_value is not None:
            checks.append(pa.Check.le(col.max_value))
        columns[col.name] = pa.Column(col.dtype, checks=checks, nullable=col.nullable)
    if contract.partitioned:
        columns[WEEK_COLUMN] = pa.Column(pl.Date, nullable=False)
    columns[RESCUED_COLUMN] = pa.Column(pl.String, nullable=True)
    columns[SOURCE_FILE_COLUMN] = pa.Column(pl.String, nullable=False)
    columns[SOURCE_LINE_COLUMN] = pa.Column(pl.Int64, nullable=False)
    return pa.DataFrameSchema(
        columns,
        strict=True,
        ordered=True,
        name=f"bronze.{contract.table}",
    )
