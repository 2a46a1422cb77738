"""Bronze -> silver: typed, deduplicated, conformed tables. Pure polars (lazy in, lazy out).

Conventions shared by every silver table:
* ``customer_unique_id`` is the person; ``customer_id`` is per order in the Olist release.
* A purchase is any order that was not canceled (``counts_as_purchase``); spend and delivery
  experience come from completed orders only (delivered, with a delivery timestamp).
* Delivery delay is in days (delivered - estimated, fractional); late = delivered on a later
  calendar day than estimated (the estimate is a date at midnight).
"""

from __future__ import annotations

import polars as pl

from olist_next_assets.lib.contracts import WEEK_COLUMN

SECONDS_PER_DAY = 86_400.0
NOT_A_PURCHASE = ("canceled",)

# The release's translation table lacks two categories; these are our translations, marked as such.
MISSING_TRANSLATIONS = {
    "pc_gamer": "pc_gamer",
    "portateis_cozinha_e_preparadores_de_alimentos": "portable_kitchen_and_food_preparers",
}
UNKNOWN_CATEGORY = "unknown"  # products without a category in the release (about 610)


def days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Fractional days, rounded to 1e-6 day (0.09 s) so that every code path gives the same bits."""
    return ((later - earlier).dt.total_seconds() / SECONDS_PER_DAY).round(6)


def silver_customers(customers: pl.LazyFrame) -> pl.LazyFrame:
    return customers.select(
        "customer_id",
        "customer_unique_id",
        pl.col("customer_zip_code_prefix").alias("zip_code_prefix"),
        pl.col("customer_city").alias("city"),
        pl.col("customer_state").alias("state"),
    )


def silver_orders(orders: pl.LazyFrame, customers: pl.LazyFrame) -> pl.LazyFrame:
    """Orders with the person behind them and their delivery outcome.

    Orders whose customer_id is unknown keep a null ``customer_unique_id`` rather than being
    dropped; the gold layer cannot attribute them and says so in its metadata.
    """
    delivered = pl.col("order_status").eq("delivered") & pl.col("order_delivered_customer_date").is_not_null()
    return (
        orders.join(
            customers.select("customer_id", "customer_unique_id", pl.col("customer_state")),
            on="customer_id",
            how="left",
            maintain_order="left",
        )
        .select(
            "order_id",
            "customer_id",
            "customer_unique_id",
            pl.col("customer_state"),
            "order_status",
            pl.col("order_purchase_timestamp").alias("purchased_at"),
            pl.col("order_approved_at").alias("approved_at"),
            pl.col("order_delivered_carrier_date").alias("shipped_at"),
            pl.col("order_delivered_customer_date").alias("delivered_at"),
            pl.col("order_estimated_delivery_date").alias("estimated_delivery_at"),
            (~pl.col("order_status").is_in(NOT_A_PURCHASE)).alias("counts_as_purchase"),
            delivered.alias("is_completed"),
            pl.when(delivered)
            .then(days_between(pl.col("order_delivered_customer_date"), pl.col("order_estimated_delivery_date")))
            .alias("delivery_delay_days"),
            pl.when(delivered)
            .then(pl.col("order_delivered_customer_date").dt.date() > pl.col("order_estimated_delivery_date").dt.date())
            .alias("is_late"),
            pl.col(WEEK_COLUMN),
        )
    )


def silver_order_lines(items: pl.LazyFrame, products: pl.LazyFrame, translation: pl.LazyFrame) -> pl.LazyFrame:
    """Order items with the product's category in English; never drops an item."""
    missing = pl.LazyFrame(
        {
            "product_category_name": list(MISSING_TRANSLATIONS),
            "product_category_name_english": list(MISSING_TRANSLATIONS.values()),
        }
    )
    english = pl.concat(
        [
            translation.select("product_category_name", "product_category_name_english", pl.lit("olist").alias("translation_source")),
            missing.join(translation, on="product_category_name", how="anti").with_columns(
                pl.lit("olist-next").alias("translation_source")
            ),
        ]
    )
    category = products.select("product_id", pl.col("product_category_name").alias("category_pt")).join(
        english.rename({"product_category_name": "category_pt", "product_category_name_english": "category"}),
        on="category_pt",
        how="left",
    )
    return items.join(category, on="product_id", how="left", maintain_order="left").select(
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        pl.col("shipping_limit_date").alias("shipping_limit_at"),
        "price",
        "freight_value",
        pl.col("category_pt"),
        pl.coalesce(
            pl.col("category"),
            pl.when(pl.col("category_pt").is_null()).then(pl.lit(UNKNOWN_CATEGORY)).otherwise(pl.col("category_pt")),
        ).alias("category"),
        pl.when(pl.col("category_pt").is_null())
        .then(pl.lit("none"))
        .otherwise(pl.col("translation_source").fill_null("untranslated"))
        .alias("translation_source"),
        pl.col(WEEK_COLUMN),
    )


def silver_payments(payments: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order: total paid, the type that paid most (ties: alphabetical), installments."""
    by_type = (
        payments.group_by("order_id", "payment_type")
        .agg(pl.col("payment_value").sum().alias("type_value"))
        .sort(["order_id", "type_value", "payment_type"], descending=[False, True, False])
        .group_by("order_id", maintain_order=True)
        .agg(pl.col("payment_type").first().alias("main_payment_type"))
    )
    totals = payments.group_by("order_id").agg(
        pl.col("payment_value").sum().round(2).alias("payment_total"),
        pl.len().cast(pl.Int32).alias("payment_count"),
        pl.col("payment_installments").max().alias("installments"),
        (pl.col("payment_type") == "voucher").any().alias("used_voucher"),
        pl.col("payment_value").filter(pl.col("payment_type") == "voucher").sum().round(2).alias("voucher_value"),
        pl.col(WEEK_COLUMN).first(),
    )
    return totals.join(by_type, on="order_id", how="left").select(
        "order_id", "payment_total", "payment_count", "main_payment_type", "installments", "used_voucher",
        "voucher_value", WEEK_COLUMN,
    )


def silver_reviews(reviews: pl.LazyFrame, sentiment: pl.Expr) -> pl.LazyFrame:
    """Reviews with a sentiment score of the comment (null when there is no comment)."""
    comment = pl.col("review_comment_message").str.strip_chars()
    return reviews.select(
        "review_id",
        "order_id",
        pl.col("review_score").alias("score"),
        pl.col("review_comment_title").alias("title"),
        pl.col("review_comment_message").alias("comment"),
        (comment.is_not_null() & (comment != "")).alias("has_comment"),
        sentiment.alias("comment_sentiment"),
        pl.col("review_creation_date").alias("created_at"),
        pl.col("review_answer_timestamp").alias("answered_at"),
        pl.col(WEEK_COLUMN),
    )


def completed_orders(orders: pl.LazyFrame, payments: pl.LazyFrame) -> pl.LazyFrame:
    """The completed-order view: delivered orders with what was paid for them."""
    return (
        orders.filter(pl.col("is_completed"))
        .join(payments.select("order_id", "payment_total", "main_payment_type", "installments"), on="order_id", how="left")
        .select(
            "order_id", "customer_unique_id", "purchased_at", "delivered_at", "estimated_delivery_at",
            "delivery_delay_days", "is_late", "payment_total", "main_payment_type", "installments", WEEK_COLUMN,
        )
    )
