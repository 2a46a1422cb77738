"""Bronze -> silver on Spark: the same tables as :mod:`olist_next_assets.lib.silver` (the specification).

Every function takes and returns Spark DataFrames and keeps the polars module's column names,
order and types, so the silver Delta tables are the same whichever engine wrote them. The
sentiment of review comments is the lexicon scorer itself, applied to Arrow batches
(``mapInArrow``): one scorer, distributed, rather than a second lexicon engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType
from pyspark.sql.window import Window

from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.silver import MISSING_TRANSLATIONS, NOT_A_PURCHASE, UNKNOWN_CATEGORY
from olist_next_assets.lib.spark.arrow import for_spark
from olist_next_assets.lib.spark.ingest import strip  # polars' strip_chars, as bronze parsing uses it
from olist_next_assets.lib.spark.snapshots import days_between  # the bit-exact twin of polars' rounding


def silver_customers(customers: DataFrame) -> DataFrame:
    return customers.select(
        "customer_id",
        "customer_unique_id",
        F.col("customer_zip_code_prefix").alias("zip_code_prefix"),
        F.col("customer_city").alias("city"),
        F.col("customer_state").alias("state"),
    )


def silver_orders(orders: DataFrame, customers: DataFrame) -> DataFrame:
    delivered = (F.col("order_status") == "delivered") & F.col("order_delivered_customer_date").isNotNull()
    people = customers.select("customer_id", "customer_unique_id", "customer_state")
    return orders.join(people, on="customer_id", how="left").select(
        "order_id",
        "customer_id",
        "customer_unique_id",
        "customer_state",
        "order_status",
        F.col("order_purchase_timestamp").alias("purchased_at"),
        F.col("order_approved_at").alias("approved_at"),
        F.col("order_delivered_carrier_date").alias("shipped_at"),
        F.col("order_delivered_customer_date").alias("delivered_at"),
        F.col("order_estimated_delivery_date").alias("estimated_delivery_at"),
        (~F.col("order_status").isin(*NOT_A_PURCHASE)).alias("counts_as_purchase"),
        delivered.alias("is_completed"),
        F.when(delivered, days_between(F.col("order_delivered_customer_date"), F.col("order_estimated_delivery_date")))
        .alias("delivery_delay_days"),
        F.when(delivered, F.to_date("order_delivered_customer_date") > F.to_date("order_estimated_delivery_date"))
        .alias("is_late"),
        F.col(WEEK_COLUMN),
    )


def silver_order_lines(items: DataFrame, products: DataFrame, translation: DataFrame) -> DataFrame:
    spark = items.sparkSession
    missing = spark.createDataFrame(
        list(MISSING_TRANSLATIONS.items()), "product_category_name string, product_category_name_english string"
    )
    english = translation.select(
        "product_category_name", "product_category_name_english", F.lit("olist").alias("translation_source")
    ).unionByName(
        missing.join(translation, on="product_category_name", how="left_anti")
        .withColumn("translation_source", F.lit("olist-next"))
    )
    category = products.select("product_id", F.col("product_category_name").alias("category_pt")).join(
        english.withColumnsRenamed({"product_category_name": "category_pt", "product_category_name_english": "category"}),
        on="category_pt",
        how="left",
    )
    return items.join(category, on="product_id", how="left").select(
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        F.col("shipping_limit_date").alias("shipping_limit_at"),
        "price",
        "freight_value",
        "category_pt",
        F.coalesce(
            F.col("category"),
            F.when(F.col("category_pt").isNull(), F.lit(UNKNOWN_CATEGORY)).otherwise(F.col("category_pt")),
        ).alias("category"),
        F.when(F.col("category_pt").isNull(), F.lit("none"))
        .otherwise(F.coalesce(F.col("translation_source"), F.lit("untranslated")))
        .alias("translation_source"),
        F.col(WEEK_COLUMN),
    )


def silver_payments(payments: DataFrame) -> DataFrame:
    by_type = payments.groupBy("order_id", "payment_type").agg(F.sum("payment_value").alias("type_value"))
    rank = Window.partitionBy("order_id").orderBy(F.col("type_value").desc_nulls_last(), F.col("payment_type").asc_nulls_first())
    main = (by_type.withColumn("__rank", F.row_number().over(rank)).where(F.col("__rank") == 1)
            .select("order_id", F.col("payment_type").alias("main_payment_type")))
    is_voucher = F.col("payment_type") == "voucher"
    totals = payments.groupBy("order_id").agg(
        F.round(F.coalesce(F.sum("payment_value"), F.lit(0.0)), 2).alias("payment_total"),
        F.count(F.lit(1)).cast("int").alias("payment_count"),
        F.max("payment_installments").alias("payment_installments"),
        F.coalesce(F.max(is_voucher), F.lit(False)).alias("used_voucher"),
        F.round(F.coalesce(F.sum(F.when(is_voucher, F.col("payment_value"))), F.lit(0.0)), 2).alias("voucher_value"),
        F.min(WEEK_COLUMN).alias(WEEK_COLUMN),  # an order's payments share its week
    )
    return totals.join(main, on="order_id", how="left").select(
        "order_id", "payment_total", "payment_count", "main_payment_type",
        F.col("payment_installments").alias("installments"), "used_voucher", "voucher_value", WEEK_COLUMN,
    )


def silver_reviews(reviews: DataFrame) -> DataFrame:
    comment = strip(F.col("review_comment_message"))
    typed = reviews.select(
        "review_id",
        "order_id",
        F.col("review_score").alias("score"),
        F.col("review_comment_title").alias("title"),
        F.col("review_comment_message").alias("comment"),
        (comment.isNotNull() & (comment != "")).alias("has_comment"),
        F.col("review_creation_date").alias("created_at"),
        F.col("review_answer_timestamp").alias("answered_at"),
        F.col(WEEK_COLUMN),
    )
    fields = list(typed.schema.fields)
    at = [f.name for f in fields].index("has_comment") + 1
    schema = StructType([*fields[:at], StructField("comment_sentiment", DoubleType()), *fields[at:]])
    return typed.mapInArrow(_with_sentiment(schema.fieldNames()), schema)


def _with_sentiment(columns: list[str]):
    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import polars as pl

        from olist_next_assets.lib.sentiment import sentiment_expr

        for batch in batches:
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            yield from for_spark(frame.with_columns(sentiment_expr("comment").alias("comment_sentiment"))
                                 .select(columns)).to_batches()

    return score


def completed_orders(orders: DataFrame, payments: DataFrame) -> DataFrame:
    return (
        orders.where(F.col("is_completed"))
        .join(payments.select("order_id", "payment_total", "main_payment_type", "installments"), on="order_id", how="left")
        .select(
            "order_id", "customer_unique_id", "purchased_at", "delivered_at", "estimated_delivery_at",
            "delivery_delay_days", "is_late", "payment_total", "main_payment_type", "installments", WEEK_COLUMN,
        )
    )
