"""Silver transformations on hand-built bronze rows."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from olist_next_assets.lib import silver

WEEK = dt.date(2018, 1, 1)


def utc(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_orders_get_their_person_delay_late_flag_and_purchase_flags():
    orders = pl.LazyFrame({
        "order_id": ["o1", "o2", "o3", "o4"],
        "customer_id": ["c1", "c2", "c3", "c-unknown"],
        "order_status": ["delivered", "delivered", "canceled", "shipped"],
        "order_purchase_timestamp": [utc("2018-01-01 10:00:00")] * 4,
        "order_approved_at": [utc("2018-01-01 11:00:00")] * 4,
        "order_delivered_carrier_date": [utc("2018-01-02 10:00:00")] * 4,
        "order_delivered_customer_date": [utc("2018-01-10 18:00:00"), utc("2018-01-05 12:00:00"), None, None],
        "order_estimated_delivery_date": [utc("2018-01-10 00:00:00"), utc("2018-01-08 00:00:00"),
                                          utc("2018-01-08 00:00:00"), utc("2018-01-08 00:00:00")],
        "week": [WEEK] * 4,
    })
    customers = pl.LazyFrame({"customer_id": ["c1", "c2", "c3"], "customer_unique_id": ["P", "P", "Q"],
                              "customer_state": ["SP", "SP", "RJ"]})
    out = silver.silver_orders(orders, customers).collect().sort("order_id")
    assert out["customer_unique_id"].to_list() == ["P", "P", "Q", None]  # unknown customer kept, not dropped
    assert out["delivery_delay_days"].to_list()[:2] == pytest.approx([0.75, -2.5])
    assert out["is_late"].to_list() == [False, False, None, None]  # same calendar day as the estimate: on time
    assert out["counts_as_purchase"].to_list() == [True, True, False, True]
    assert out["is_completed"].to_list() == [True, True, False, False]


def test_order_lines_translate_categories_and_label_the_missing_ones():
    items = pl.LazyFrame({
        "order_id": ["o1"] * 5, "order_item_id": [1, 2, 3, 4, 5],
        "product_id": ["p1", "p2", "p3", "p4", "p-unknown"], "seller_id": ["s"] * 5,
        "shipping_limit_date": [utc("2018-01-03 00:00:00")] * 5, "price": [1.0] * 5, "freight_value": [0.5] * 5,
        "week": [WEEK] * 5,
    })
    products = pl.LazyFrame({"product_id": ["p1", "p2", "p3", "p4"],
                             "product_category_name": ["beleza_saude", "pc_gamer", None, "categoria_nova"]})
    translation = pl.LazyFrame({"product_category_name": ["beleza_saude"],
                                "product_category_name_english": ["health_beauty"]})
    out = silver.silver_order_lines(items, products, translation).collect().sort("order_item_id")
    assert out.height == 5  # nothing dropped
    assert out["category"].to_list() == ["health_beauty", "pc_gamer", "unknown", "categoria_nova", "unknown"]
    assert out["translation_source"].to_list() == ["olist", "olist-next", "none", "untranslated", "none"]


def test_payments_are_summarised_per_order():
    payments = pl.LazyFrame({
        "order_id": ["o1", "o1", "o1", "o2"], "payment_sequential": [1, 2, 3, 1],
        "payment_type": ["voucher", "credit_card", "voucher", "boleto"], "payment_installments": [1, 6, 1, 1],
        "payment_value": [20.0, 30.0, 15.0, 99.9], "week": [WEEK] * 4,
    })
    out = silver.silver_payments(payments).collect().sort("order_id")
    assert out.row(0, named=True) | {"week": None} == {
        "order_id": "o1", "payment_total": 65.0, "payment_count": 3, "main_payment_type": "voucher",
        "installments": 6, "used_voucher": True, "voucher_value": 35.0, "week": None,
    }
    assert out.row(1, named=True)["main_payment_type"] == "boleto"


def test_reviews_carry_sentiment_only_for_comments():
    from olist_next_assets.lib.sentiment import sentiment_expr

    reviews = pl.LazyFrame({
        "review_id": ["r1", "r2", "r3"], "order_id": ["o1", "o2", "o3"], "review_score": [5, 1, 4],
        "review_comment_title": [None, None, None],
        "review_comment_message": ["Produto excelente, chegou antes do prazo!", "Não recebi o produto. Péssimo.", None],
        "review_creation_date": [utc("2018-01-02 00:00:00")] * 3, "review_answer_timestamp": [None] * 3,
        "week": [WEEK] * 3,
    }, schema_overrides={"review_comment_title": pl.String, "review_answer_timestamp": pl.Datetime("us", "UTC")})
    out = silver.silver_reviews(reviews, sentiment_expr("review_comment_message")).collect()
    sentiment = out["comment_sentiment"].to_list()
    assert sentiment[0] > 0.3 and sentiment[1] < -0.3 and sentiment[2] is None
    assert out["has_comment"].to_list() == [True, True, False]
