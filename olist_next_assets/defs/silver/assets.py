"""Silver: typed, conformed tables over bronze, in the same weekly partitions.

Thin wrappers: each asset loads its bronze inputs (the run's weeks, or everything for
dimensions) and applies the transformation of :mod:`olist_next_assets.lib.silver` (polars, the
specification) or of :mod:`olist_next_assets.lib.spark.silver` when the engine is spark.
"""

from typing import Any

import dagster as dg
import polars as pl

from olist_next_assets.defs.common import delta_asset, engine_output, upstream
from olist_next_assets.lib import silver
from olist_next_assets.lib.delta_io import column_schema
from olist_next_assets.lib.engine import is_spark
from olist_next_assets.lib.sentiment import sentiment_expr

SCHEMAS = {
    "customers": pl.Schema({"customer_id": pl.String, "customer_unique_id": pl.String, "zip_code_prefix": pl.String,
                            "city": pl.String, "state": pl.String}),
}


def _silver(name: str, *, partitioned: bool, ins: dict[str, dg.AssetIn], description: str,
            schema: pl.Schema | None = None):
    metadata = {"dagster/column_schema": column_schema(schema)} if schema else None
    return delta_asset(["silver", name], weekly=partitioned, ins=ins, description=description, metadata=metadata,
                       extra_kinds={"spark"})


def _in(key: list[str], **kwargs: Any) -> dg.AssetIn:
    return upstream(key, engine=True, **kwargs)


def _impl(frame: Any):
    """The transformations for this kind of frame: polars (the specification) or their Spark twins."""
    if is_spark(frame):
        from olist_next_assets.lib.spark import silver as spark_silver

        return spark_silver
    return silver


@_silver("customers", partitioned=False, ins={"customers": _in(["bronze", "customers"])},
         description="customer_id (one per order) -> customer_unique_id (the person), with location.",
         schema=SCHEMAS["customers"])
def silver_customers(customers) -> dg.Output:
    return engine_output(_impl(customers).silver_customers(customers),
                         lambda f: {"people": f["customer_unique_id"].n_unique()})


@_silver("orders", partitioned=True,
         ins={"orders": _in(["bronze", "orders"]), "customers": _in(["bronze", "customers"])},
         description="Orders with their person, status, timeline, delivery delay (days) and late flag; "
                     "`counts_as_purchase` (not canceled) and `is_completed` (delivered) flags.")
def silver_orders(orders, customers) -> dg.Output:
    return engine_output(_impl(orders).silver_orders(orders, customers), lambda f: {
        "unattributed_orders": f["customer_unique_id"].null_count(),
        "completed_orders": int(f["is_completed"].sum()),
        "late_share": dg.MetadataValue.float(float(f["is_late"].mean() or 0.0)),
    })


@_silver("completed_orders", partitioned=True, ins={"orders": _in(["silver", "orders"]),
                                                   "payments": _in(["silver", "order_payments"])},
         description="The completed-order view: delivered orders with what was paid, the basis of "
                     "spend and delivery-experience features.")
def silver_completed_orders(orders, payments) -> dg.Output:
    return engine_output(_impl(orders).completed_orders(orders, payments))


@_silver("order_lines", partitioned=True,
         ins={"items": _in(["bronze", "order_items"]), "products": _in(["bronze", "products"]),
              "translation": _in(["bronze", "category_translation"])},
         description="Order items with the product category in English; untranslated and missing "
                     "categories get explicit labels (`translation_source` says which).")
def silver_order_lines(items, products, translation) -> dg.Output:
    return engine_output(_impl(items).silver_order_lines(items, products, translation), lambda f: {
        "translation_sources": dg.MetadataValue.json(dict(f.group_by("translation_source").len().iter_rows())),
    })


@_silver("order_payments", partitioned=True, ins={"payments": _in(["bronze", "order_payments"])},
         description="Payments summarised per order: total, main payment type, installments, voucher use.")
def silver_order_payments(payments) -> dg.Output:
    return engine_output(_impl(payments).silver_payments(payments))


@_silver("order_reviews", partitioned=True, ins={"reviews": _in(["bronze", "order_reviews"])},
         description="Reviews with score, title, comment, timestamps and the comment's sentiment in [-1, 1] "
                     "(offline Portuguese lexicon, see docs/sentiment.md; on Spark the same scorer runs on "
                     "Arrow batches).")
def silver_order_reviews(reviews) -> dg.Output:
    if is_spark(reviews):
        return engine_output(_impl(reviews).silver_reviews(reviews))
    return engine_output(silver.silver_reviews(reviews, sentiment_expr("review_comment_message")), lambda f: {
        "commented": int(f["has_comment"].sum()),
        "mean_sentiment": dg.MetadataValue.float(float(f["comment_sentiment"].mean() or 0.0)),
    })


silver_assets = [silver_customers, silver_orders, silver_completed_orders, silver_order_lines,
                 silver_order_payments, silver_order_reviews]
