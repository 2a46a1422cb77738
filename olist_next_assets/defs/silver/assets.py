"""Silver: typed, conformed tables over bronze, in the same weekly partitions.

Thin wrappers: each asset loads its bronze inputs (the run's weeks, or everything for
dimensions) and applies the pure transformation of :mod:`olist_next_assets.lib.silver`.
"""

import dagster as dg
import polars as pl

from olist_next_assets.defs.common import delta_asset, output_metadata, upstream
from olist_next_assets.lib import silver
from olist_next_assets.lib.delta_io import column_schema
from olist_next_assets.lib.sentiment import sentiment_expr

SCHEMAS = {
    "customers": pl.Schema({"customer_id": pl.String, "customer_unique_id": pl.String, "zip_code_prefix": pl.String,
                            "city": pl.String, "state": pl.String}),
}


def _silver(name: str, *, partitioned: bool, ins: dict[str, dg.AssetIn], description: str,
            schema: pl.Schema | None = None):
    metadata = {"dagster/column_schema": column_schema(schema)} if schema else None
    return delta_asset(["silver", name], weekly=partitioned, ins=ins, description=description, metadata=metadata)


@_silver("customers", partitioned=False, ins={"customers": upstream(["bronze", "customers"])},
         description="customer_id (one per order) -> customer_unique_id (the person), with location.",
         schema=SCHEMAS["customers"])
def silver_customers(customers: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.silver_customers(customers).collect()
    return dg.Output(frame, metadata=output_metadata(frame, people=frame["customer_unique_id"].n_unique()))


@_silver("orders", partitioned=True,
         ins={"orders": upstream(["bronze", "orders"]), "customers": upstream(["bronze", "customers"])},
         description="Orders with their person, status, timeline, delivery delay (days) and late flag; "
                     "`counts_as_purchase` (not canceled) and `is_completed` (delivered) flags.")
def silver_orders(orders: pl.LazyFrame, customers: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.silver_orders(orders, customers).collect()
    return dg.Output(frame, metadata=output_metadata(
        frame,
        unattributed_orders=frame["customer_unique_id"].null_count(),
        completed_orders=int(frame["is_completed"].sum()),
        late_share=dg.MetadataValue.float(float(frame["is_late"].mean() or 0.0)),
    ))


@_silver("completed_orders", partitioned=True, ins={"orders": upstream(["silver", "orders"]),
                                                   "payments": upstream(["silver", "order_payments"])},
         description="The completed-order view: delivered orders with what was paid, the basis of "
                     "spend and delivery-experience features.")
def silver_completed_orders(orders: pl.LazyFrame, payments: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.completed_orders(orders, payments).collect()
    return dg.Output(frame, metadata=output_metadata(frame))


@_silver("order_lines", partitioned=True,
         ins={"items": upstream(["bronze", "order_items"]), "products": upstream(["bronze", "products"]),
              "translation": upstream(["bronze", "category_translation"])},
         description="Order items with the product category in English; untranslated and missing "
                     "categories get explicit labels (`translation_source` says which).")
def silver_order_lines(items: pl.LazyFrame, products: pl.LazyFrame, translation: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.silver_order_lines(items, products, translation).collect()
    sources = dict(frame.group_by("translation_source").len().iter_rows())
    return dg.Output(frame, metadata=output_metadata(frame, translation_sources=dg.MetadataValue.json(sources)))


@_silver("order_payments", partitioned=True, ins={"payments": upstream(["bronze", "order_payments"])},
         description="Payments summarised per order: total, main payment type, installments, voucher use.")
def silver_order_payments(payments: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.silver_payments(payments).collect()
    return dg.Output(frame, metadata=output_metadata(frame))


@_silver("order_reviews", partitioned=True, ins={"reviews": upstream(["bronze", "order_reviews"])},
         description="Reviews with score, title, comment, timestamps and the comment's sentiment in [-1, 1] "
                     "(offline Portuguese lexicon, see docs/sentiment.md).")
def silver_order_reviews(reviews: pl.LazyFrame) -> dg.Output[pl.DataFrame]:
    frame = silver.silver_reviews(reviews, sentiment_expr("review_comment_message")).collect()
    return dg.Output(frame, metadata=output_metadata(
        frame, commented=int(frame["has_comment"].sum()),
        mean_sentiment=dg.MetadataValue.float(float(frame["comment_sentiment"].mean() or 0.0)),
    ))


silver_assets = [silver_customers, silver_orders, silver_completed_orders, silver_order_lines,
                 silver_order_payments, silver_order_reviews]
